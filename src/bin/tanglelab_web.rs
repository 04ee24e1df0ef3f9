//! Browser entry point: built by Trunk for wasm32; natively it does nothing.

fn main() {
    #[cfg(target_arch = "wasm32")]
    tanglelab::web::start();
}
