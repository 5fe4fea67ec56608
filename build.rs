// The migrations are embedded by `diesel_migrations::embed_migrations!`, which reads the
// directory at compile time; cargo does not know of it, so a new migration was left out of an
// incremental build (a release binary without the territory's indexes, 2026-12-07). As
// diesel_migrations' documentation advises, the directory is declared here.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
