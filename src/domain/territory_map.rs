//! The map of the MEL's communes (DESIGN.md §16): their outlines projected once into an SVG
//! path per commune, and the classes of a choropleth. Pure: the pages write the SVG around
//! these paths (a link, a `<title>` and a class per commune), so the markup stays with the
//! other templates and the geometry here.
//!
//! The outlines are `data/territory/mel-communes-contours.geojson` (IGN, Admin Express COG,
//! simplified; Licence Ouverte — credited wherever the map is shown), embedded at compile time.
//! The projection is equirectangular scaled by cos 50.6° (the MEL's latitude): over 50 km the
//! distortion is below what the eye sees, and no projection library is needed.

use std::sync::LazyLock;

use serde::Deserialize;

/// The SVG's width in user units; the height follows the territory's shape.
pub const WIDTH: i64 = 600;
/// The margin around the outlines, in user units.
const MARGIN: f64 = 4.0;
/// The latitude the longitudes are scaled at (the MEL lies between 50.50° and 50.80° N).
const MEAN_LATITUDE_DEG: f64 = 50.6;

/// Where the outlines come from, as the map's caption credits it.
pub const CREDIT: &str = "IGN, Admin Express COG (simplifié), Licence Ouverte";

/// One commune's outline as an SVG path, in the map's user units.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub insee: String,
    pub name: String,
    /// Path data: absolute move, then relative lines, in tenths of a unit (about 5 m).
    pub d: String,
}

#[derive(Debug)]
pub struct MapGeometry {
    pub width: i64,
    pub height: i64,
    /// By INSEE code.
    pub shapes: Vec<Shape>,
}

impl MapGeometry {
    pub fn view_box(&self) -> String {
        format!("0 0 {} {}", self.width, self.height)
    }
}

#[derive(Deserialize)]
struct FeatureCollection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Properties,
    geometry: Geometry,
}

#[derive(Deserialize)]
struct Properties {
    code: String,
    nom: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", content = "coordinates")]
enum Geometry {
    Polygon(Vec<Vec<[f64; 2]>>),
    MultiPolygon(Vec<Vec<Vec<[f64; 2]>>>),
}

impl Geometry {
    fn rings(&self) -> Vec<&Vec<[f64; 2]>> {
        match self {
            Self::Polygon(rings) => rings.iter().collect(),
            Self::MultiPolygon(polygons) => polygons.iter().flatten().collect(),
        }
    }
}

#[expect(
    clippy::expect_used,
    reason = "the outlines are embedded at build time and drawn by a unit test"
)]
static MEL_MAP: LazyLock<MapGeometry> = LazyLock::new(|| {
    project(include_str!(
        "../../data/territory/mel-communes-contours.geojson"
    ))
    .expect("data/territory/mel-communes-contours.geojson is embedded and must be valid")
});

/// The MEL's 95 communes, projected (computed once).
pub fn mel_map() -> &'static MapGeometry {
    &MEL_MAP
}

/// Projects a GeoJSON FeatureCollection of polygons (WGS 84) into a map [`WIDTH`] wide.
pub fn project(geojson: &str) -> Result<MapGeometry, serde_json::Error> {
    let collection: FeatureCollection = serde_json::from_str(geojson)?;
    let k = MEAN_LATITUDE_DEG.to_radians().cos();
    let planar = |[lon, lat]: [f64; 2]| (lon * k, -lat);
    let (mut min_x, mut min_y) = (f64::INFINITY, f64::INFINITY);
    let (mut max_x, mut max_y) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for f in &collection.features {
        for ring in f.geometry.rings() {
            for &p in ring {
                let (x, y) = planar(p);
                min_x = min_x.min(x);
                max_x = max_x.max(x);
                min_y = min_y.min(y);
                max_y = max_y.max(y);
            }
        }
    }
    let scale = if max_x > min_x {
        (WIDTH as f64 - 2.0 * MARGIN) / (max_x - min_x)
    } else {
        1.0
    };
    let height = if max_y > min_y {
        ((max_y - min_y) * scale + 2.0 * MARGIN).ceil() as i64
    } else {
        WIDTH
    };
    // In tenths of a unit, as integers: the relative steps add up exactly to each point.
    let tenths = |p: [f64; 2]| {
        let (x, y) = planar(p);
        (
            ((MARGIN + (x - min_x) * scale) * 10.0).round() as i64,
            ((MARGIN + (y - min_y) * scale) * 10.0).round() as i64,
        )
    };
    let mut shapes: Vec<Shape> = collection
        .features
        .iter()
        .map(|f| {
            let mut d = String::new();
            for ring in f.geometry.rings() {
                let mut points: Vec<(i64, i64)> = ring.iter().map(|&p| tenths(p)).collect();
                points.dedup();
                if points.first() == points.last() && points.len() > 1 {
                    points.pop();
                }
                if points.len() < 3 {
                    continue;
                }
                let (x0, y0) = points[0];
                d.push('M');
                d.push_str(&coordinate(x0, y0));
                d.push('l');
                for w in points.windows(2) {
                    let step = coordinate(w[1].0 - w[0].0, w[1].1 - w[0].1);
                    if !d.ends_with('l') && !step.starts_with('-') {
                        d.push(' ');
                    }
                    d.push_str(&step);
                }
                d.push('z');
            }
            Shape {
                insee: f.properties.code.clone(),
                name: f.properties.nom.clone(),
                d,
            }
        })
        .collect();
    shapes.sort_by(|a, b| a.insee.cmp(&b.insee));
    Ok(MapGeometry {
        width: WIDTH,
        height,
        shapes,
    })
}

/// A point in tenths as SVG numbers: `12.3,-4` (a separator only where a sign does not split).
fn coordinate(x: i64, y: i64) -> String {
    let y = tenths(y);
    if y.starts_with('-') {
        format!("{}{y}", tenths(x))
    } else {
        format!("{},{y}", tenths(x))
    }
}

fn tenths(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let v = v.abs();
    if v % 10 == 0 {
        format!("{sign}{}", v / 10)
    } else {
        format!("{sign}{}.{}", v / 10, v % 10)
    }
}

/// The classes of a choropleth: at most [`Choropleth::CLASSES`] classes of the positive values,
/// by quantiles (each class holds about as many communes), so one large city does not leave
/// every other commune in the first class. Zero is no class: the map shows it with a pattern,
/// not a colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Choropleth {
    /// The upper bound of each class, increasing.
    uppers: Vec<f64>,
    /// The smallest value present in each class (for the legend).
    lowers: Vec<f64>,
}

impl Choropleth {
    pub const CLASSES: usize = 5;

    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.into_iter().filter(|x| *x > 0.0).collect();
        v.sort_by(f64::total_cmp);
        let mut distinct = v.clone();
        distinct.dedup();
        let k = distinct.len().min(Self::CLASSES);
        let n = v.len();
        let mut uppers: Vec<f64> = Vec::with_capacity(k);
        for i in 1..=k {
            let upper = v[(i * n).div_ceil(k) - 1];
            if uppers.last() != Some(&upper) {
                uppers.push(upper);
            }
        }
        let mut lowers = Vec::with_capacity(uppers.len());
        let mut from = 0;
        for upper in &uppers {
            lowers.push(v[from]);
            from += v[from..].iter().take_while(|x| *x <= upper).count();
        }
        Self { uppers, lowers }
    }

    /// The class (0 = lightest) of a value, `None` for zero.
    pub fn class_of(&self, value: f64) -> Option<usize> {
        if value <= 0.0 {
            return None;
        }
        self.uppers
            .iter()
            .position(|u| value <= *u)
            .or(self.uppers.len().checked_sub(1))
    }

    /// Each class's smallest value present and upper bound, lightest first.
    pub fn legend(&self) -> Vec<(f64, f64)> {
        self.lowers
            .iter()
            .copied()
            .zip(self.uppers.iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_has_the_95_communes_in_a_frame_of_the_territory_s_shape() {
        let map = mel_map();
        assert_eq!(map.shapes.len(), 95);
        let codes: Vec<&str> = map.shapes.iter().map(|s| s.insee.as_str()).collect();
        let mel = crate::domain::territory::mel_insee_codes();
        assert_eq!(codes, mel.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(map.width, 600);
        // 0.48° of longitude by 0.29° of latitude at 50.6° N: about as high as wide.
        assert!((560..=600).contains(&map.height), "{}", map.height);
        assert!(
            map.shapes
                .iter()
                .all(|s| s.d.starts_with('M') && s.d.ends_with('z'))
        );
        let lille = map.shapes.iter().find(|s| s.insee == "59350").unwrap();
        assert_eq!(lille.name, "Lille");
        let bytes: usize = map.shapes.iter().map(|s| s.d.len()).sum();
        assert!(bytes < 40_000, "the paths weigh {bytes} bytes");
    }

    /// Every path, walked back to absolute points, stays inside the frame.
    #[test]
    fn every_point_is_inside_the_frame() {
        let map = mel_map();
        for s in &map.shapes {
            for ring in s.d.split('M').filter(|r| !r.is_empty()) {
                let ring = ring.trim_end_matches('z');
                let (start, steps) = ring.split_once('l').unwrap();
                let numbers = |t: &str| -> Vec<f64> {
                    let t = t.replace('-', " -").replace(',', " ");
                    t.split_whitespace().map(|n| n.parse().unwrap()).collect()
                };
                let start = numbers(start);
                let (mut x, mut y) = (start[0], start[1]);
                for pair in numbers(steps).chunks(2) {
                    x += pair[0];
                    y += pair[1];
                    assert!(
                        (0.0..=600.0).contains(&x) && (0.0..=map.height as f64).contains(&y),
                        "{} at ({x}, {y})",
                        s.name
                    );
                }
            }
        }
    }

    #[test]
    fn a_square_is_projected_into_the_frame() {
        let geojson = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{"code":"59001","nom":"Carré"},
            "geometry":{"type":"Polygon","coordinates":[[[3.0,50.0],[3.1,50.0],[3.1,50.1],[3.0,50.1],[3.0,50.0]]]}}]}"#;
        let map = project(geojson).unwrap();
        // 0.1° of longitude is cos(50.6°) ≈ 0.635 of 0.1° of latitude: 592 wide, 932.7 high.
        assert_eq!(map.height, 941);
        assert_eq!(map.shapes[0].d, "M4,936.7l592,0 0-932.7-592,0z");
    }

    #[test]
    fn numbers_in_tenths() {
        let cases = [
            (0, "0"),
            (5, "0.5"),
            (-5, "-0.5"),
            (123, "12.3"),
            (-120, "-12"),
        ];
        for (v, expected) in cases {
            assert_eq!(tenths(v), expected, "{v}");
        }
        assert_eq!(coordinate(12, -3), "1.2-0.3");
        assert_eq!(coordinate(-12, 3), "-1.2,0.3");
    }

    #[test]
    fn choropleth_classes() {
        type Case = (&'static [f64], &'static [(f64, f64)]);
        let cases: [Case; 6] = [
            (&[], &[]),
            (&[0.0, 0.0], &[]),
            (&[3.0], &[(3.0, 3.0)]),
            (
                &[1.0, 2.0, 3.0, 4.0, 5.0, 0.0],
                &[(1.0, 1.0), (2.0, 2.0), (3.0, 3.0), (4.0, 4.0), (5.0, 5.0)],
            ),
            (&[1.0, 1.0, 1.0, 2.0], &[(1.0, 1.0), (2.0, 2.0)]),
            (
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 100.0],
                &[
                    (1.0, 3.0),
                    (4.0, 5.0),
                    (6.0, 7.0),
                    (8.0, 9.0),
                    (10.0, 100.0),
                ],
            ),
        ];
        for (values, legend) in cases {
            let c = Choropleth::of(values.iter().copied());
            assert_eq!(c.legend(), legend, "{values:?}");
            assert!(c.legend().len() <= Choropleth::CLASSES);
        }
        let c = Choropleth::of([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 100.0]);
        let cases = [
            (0.0, None),
            (1.0, Some(0)),
            (3.0, Some(0)),
            (3.5, Some(1)),
            (9.0, Some(3)),
            (100.0, Some(4)),
            (250.0, Some(4)),
        ];
        for (v, class) in cases {
            assert_eq!(c.class_of(v), class, "{v}");
        }
    }
}
