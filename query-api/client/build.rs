//! Generates the client from the committed spec on every build where the spec changed.

use std::path::Path;

fn main() {
    let spec_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi.json");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let file =
        std::fs::File::open(&spec_path).unwrap_or_else(|e| panic!("{}: {e}", spec_path.display()));
    let spec =
        serde_json::from_reader(file).expect("query-api/openapi.json is an OpenAPI document");
    let mut generator = progenitor::Generator::default();
    let tokens = generator
        .generate_tokens(&spec)
        .expect("progenitor generates a client from the spec");
    let ast = syn::parse2(tokens).expect("the generated client parses");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("client.rs");
    std::fs::write(out, prettyplease::unparse(&ast)).expect("write the generated client");
}
