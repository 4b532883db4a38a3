//! The datasets by the names `tessera train --dataset` takes: where each comes from, its class
//! names, and whether the CIFAR augmentation suits it.

use std::path::Path;

use crate::cifar::{self, Cifar100Label};
use crate::dataset::{Dataset, Split};
use crate::error::{DataError, Result};
use crate::{cache, dogs_vs_cats, fashion_mnist, mnist};

/// Every dataset name, in the order the CLI lists them.
pub const NAMES: [&str; 5] = ["mnist", "fashion-mnist", "cifar10", "cifar100", "dogs-vs-cats"];

/// Loads a split of the dataset `name` (CIFAR: the official binaries under `dir`; the others
/// fetched or found as their modules describe). `Split::Test` is dogs-vs-cats's validation
/// split.
pub fn load(name: &str, split: Split, dir: Option<&Path>) -> Result<Dataset> {
    match name {
        "mnist" => mnist::load(split, dir),
        "fashion-mnist" => fashion_mnist::load(split, dir),
        "cifar10" => cifar::load_cifar10(split, &cache::resolve_dir(dir)?),
        "cifar100" => cifar::load_cifar100(split, &cache::resolve_dir(dir)?, Cifar100Label::Fine),
        "dogs-vs-cats" => dogs_vs_cats::load(split, dir),
        other => Err(unknown(other)),
    }
}

/// The class names of `name`, indexed by label (CIFAR-100: `None`, its names live in the
/// archive's `fine_label_names.txt`).
pub fn class_names(name: &str) -> Option<Vec<String>> {
    let names: Vec<&str> = match name {
        "mnist" => vec!["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
        "fashion-mnist" => fashion_mnist::CLASS_NAMES.to_vec(),
        "cifar10" => cifar::CIFAR10_CLASSES.to_vec(),
        "dogs-vs-cats" => dogs_vs_cats::CLASS_NAMES.to_vec(),
        _ => return None,
    };
    Some(names.into_iter().map(String::from).collect())
}

/// Whether the CIFAR augmentation (pad, random crop, horizontal flip) is on by default: yes for
/// the natural colour images, no for digits and clothes (a mirrored digit is another glyph).
pub fn augments_by_default(name: &str) -> bool {
    matches!(name, "cifar10" | "cifar100" | "dogs-vs-cats")
}

/// The error for a name not in [`NAMES`].
pub fn unknown(name: &str) -> DataError {
    DataError::InvalidArgument(format!("unknown dataset '{name}' (try: {})", NAMES.join(", ")))
}
