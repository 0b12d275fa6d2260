//! "Download" a generated file: a browser download on the web, a file in the working directory natively.

/// Offer `contents` as a file named `file_name`; returns a line for the user saying what happened.
#[cfg(target_arch = "wasm32")]
pub fn offer(file_name: &str, mime: &str, contents: &str) -> String {
    match crate::web::download(file_name, mime, contents) {
        Ok(()) => format!("downloading {file_name}"),
        Err(err) => format!("download failed: {err}"),
    }
}

/// Offer `contents` as a file named `file_name`; returns a line for the user saying what happened.
#[cfg(not(target_arch = "wasm32"))]
pub fn offer(file_name: &str, _mime: &str, contents: &str) -> String {
    match std::fs::write(file_name, contents) {
        Ok(()) => {
            let path = std::env::current_dir().map_or_else(|_| file_name.into(), |dir| dir.join(file_name));
            format!("saved {}", path.display())
        }
        Err(err) => format!("could not save {file_name}: {err}"),
    }
}

/// Offer binary `contents` (an .npy of a layer's maps) as a file named `file_name`.
#[cfg(target_arch = "wasm32")]
pub fn offer_bytes(file_name: &str, mime: &str, contents: &[u8]) -> String {
    match crate::web::download_bytes(file_name, mime, contents) {
        Ok(()) => format!("downloading {file_name}"),
        Err(err) => format!("download failed: {err}"),
    }
}

/// Offer binary `contents` (an .npy of a layer's maps) as a file named `file_name`.
#[cfg(not(target_arch = "wasm32"))]
pub fn offer_bytes(file_name: &str, _mime: &str, contents: &[u8]) -> String {
    match std::fs::write(file_name, contents) {
        Ok(()) => {
            let path = std::env::current_dir().map_or_else(|_| file_name.into(), |dir| dir.join(file_name));
            format!("saved {}", path.display())
        }
        Err(err) => format!("could not save {file_name}: {err}"),
    }
}
