//! How long a letter takes to write (issue 27): renders each sample letter N times (default
//! 200) with the embedded templates and fonts, and prints the median, the p99 and the size.
//! Run by `bench/run` (`cargo run --release --example letters_bench`); a program that prints
//! figures, never a timing assertion.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark run by hand: a failure stops it with its message

use std::time::Instant;

use essor::letters::{Authority, Letters, samples};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let letters = Letters::embedded(Authority {
        name: "Métropole Européenne de Lille".into(),
        address: vec![
            "2 boulevard des Cités Unies".into(),
            "59040 Lille Cedex".into(),
        ],
        city: "Lille".into(),
        signatory_name: "Camille Martin".into(),
        signatory_quality: "Pour le Président et par délégation".into(),
        grant_scheme: "Entreprendre autrement".into(),
    });
    let at = chrono::Utc::now();
    // The first render parses the fonts and warms Typst's caches: shown apart.
    let first = Instant::now();
    let (kind, data) = &samples()[0];
    letters.render(*kind, data, at).expect("the award letter");
    println!(
        "first letter (fonts parsed, caches cold): {:.1} ms",
        ms(first)
    );
    for (kind, data) in samples() {
        let mut times = Vec::with_capacity(n);
        let mut size = 0;
        for i in 0..n {
            // Each letter its own reference and title, as in use: Typst memoises layouts, and
            // the same data 200 times would measure its cache, not a letter.
            let mut data = data.clone();
            data.reference = format!("EA-2027-{i:05}");
            data.project_title = format!("{} n° {i}", data.project_title);
            let t = Instant::now();
            size = letters.render(kind, &data, at).expect("a letter").len();
            times.push(ms(t));
        }
        times.sort_by(f64::total_cmp);
        let p = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "{kind:<14} n={n} median {:.1} ms  p99 {:.1} ms  size {size} bytes",
            p(0.5),
            p(0.99)
        );
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
