//! Dataset construction, subsets, normalisation, seeded shuffling and batching, plus the
//! SplitMix64 generator and the synthetic dataset.

use std::collections::HashSet;

use tessera_data::rng::{self, SplitMix64};
use tessera_data::{one_hot, synthetic, DataError, Dataset};

/// `n` 2×2×1 images where image `i` is filled with `i`, labelled `i % 10`.
fn indexed(n: usize) -> Dataset {
    let images = (0..n).flat_map(|i| [i as f32; 4]).collect();
    let labels = (0..n).map(|i| (i % 10) as u8).collect();
    Dataset::new(images, labels, [2, 2, 1], 10).unwrap()
}

#[test]
fn splitmix64_matches_the_reference_sequence() {
    let mut r = SplitMix64::new(1234567);
    let got: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
    let want =
        [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431, 16408922859458223821];
    assert_eq!(got, want);
    assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    let mut r = SplitMix64::new(9);
    assert!((0..1000).all(|_| r.below(7) < 7));
    assert!((0..1000).map(|_| r.next_f32()).all(|x| (0.0..1.0).contains(&x)));
    let mut seen = rng::permutation(100, 3);
    assert_ne!(seen, (0..100).collect::<Vec<_>>());
    seen.sort_unstable();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
}

#[test]
fn construction_is_checked() {
    let bad_len = Dataset::new(vec![0.0; 7], vec![0, 1], [2, 2, 1], 10).unwrap_err();
    assert!(matches!(bad_len, DataError::InvalidArgument(_)) && bad_len.to_string().contains("[2, 2, 1]"));
    assert!(Dataset::new(vec![0.0; 8], vec![0, 10], [2, 2, 1], 10).unwrap_err().to_string().contains("label 10"));
    assert!(Dataset::new(vec![], vec![], [0, 2, 1], 10).is_err());
    assert!(Dataset::new(vec![], vec![], [2, 2, 1], 0).is_err());
    let ds = Dataset::from_u8(&[0, 51, 255, 102], vec![1], [1, 2, 2], 2).unwrap();
    assert_eq!(ds.images(), &[0.0, 0.2, 1.0, 0.4]);
    assert_eq!((ds.shape(), ds.image_len(), ds.num_classes()), ([1, 1, 2, 2], 4, 2));
    assert!(ds.image(1).is_none());
}

#[test]
fn subset_and_select() {
    let ds = indexed(10);
    let sub = ds.subset(3..6).unwrap();
    assert_eq!(sub.labels(), &[3, 4, 5]);
    assert_eq!(sub.image(0).unwrap(), &[3.0; 4]);
    assert_eq!(ds.subset(4..4).unwrap().len(), 0);
    let e = ds.subset(8..11).unwrap_err();
    assert!(e.to_string().contains("8..11") && e.to_string().contains("10 examples"), "{e}");
    let sel = ds.select(&[9, 0, 9]).unwrap();
    assert_eq!(sel.labels(), &[9, 0, 9]);
    assert!(ds.select(&[10]).is_err());
    assert_eq!(ds.label_histogram(), vec![1; 10]);
}

#[test]
fn normalisation() {
    let mut ds = synthetic(50, [4, 4, 1], 3, 1).unwrap();
    let (mean, std) = ds.mean_std();
    ds.normalize(&[mean], &[std]).unwrap();
    let (m, s) = ds.mean_std();
    assert!(m.abs() < 1e-5 && (s - 1.0).abs() < 1e-4, "mean {m} std {s}");
    let mut rgb = Dataset::new(vec![1.0, 2.0, 3.0, 5.0, 6.0, 7.0], vec![0, 0], [1, 1, 3], 1).unwrap();
    rgb.normalize(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]).unwrap();
    assert_eq!(rgb.images(), &[0.0, 0.0, 0.0, 4.0, 2.0, 1.0]);
    assert!(rgb.normalize(&[0.0, 0.0], &[1.0]).is_err());
    assert!(rgb.normalize(&[0.0], &[0.0]).is_err());
    assert!(rgb.normalize(&[0.0], &[f32::NAN]).is_err());
}

#[test]
fn shuffle_is_seeded_and_keeps_pairs() {
    let ds = indexed(100);
    let mut a = ds.clone();
    let mut b = ds.clone();
    a.shuffle(42);
    b.shuffle(42);
    assert_eq!(a, b);
    let mut c = ds.clone();
    c.shuffle(43);
    assert_ne!(a.labels(), c.labels());
    assert_ne!(a.labels(), ds.labels());
    let mut seen = HashSet::new();
    for i in 0..a.len() {
        let idx = a.image(i).unwrap()[0] as usize;
        assert_eq!(usize::from(a.labels()[i]), idx % 10, "image/label pairs stay together");
        assert!(seen.insert(idx));
    }
    assert_eq!(seen.len(), 100);
}

#[test]
fn batches_cover_every_example_once_per_epoch() {
    let ds = indexed(103);
    for (drop_last, want_batches, want_total) in [(false, 11, 103), (true, 10, 100)] {
        let batches = ds.batches(10, drop_last).unwrap();
        assert_eq!(batches.len(), want_batches);
        let all: Vec<_> = batches.collect();
        assert_eq!(all.len(), want_batches);
        let idx: Vec<usize> = all.iter().flat_map(|b| b.indices.clone()).collect();
        assert_eq!(idx, (0..want_total).collect::<Vec<_>>());
        assert_eq!(all.last().unwrap().batch_size, if drop_last { 10 } else { 3 });
    }
    let mut orders = Vec::new();
    for epoch in 0..3 {
        let mut idx = Vec::new();
        for batch in ds.shuffled_batches(16, false, 1000 + epoch).unwrap() {
            assert_eq!(batch.shape(), [batch.batch_size, 2, 2, 1]);
            assert_eq!(batch.images.len(), batch.batch_size * 4);
            for (k, &i) in batch.indices.iter().enumerate() {
                assert_eq!(batch.images[k * 4], i as f32);
                assert_eq!(batch.labels[k], (i % 10) as u8);
            }
            idx.extend(batch.indices);
        }
        let mut sorted = idx.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..103).collect::<Vec<_>>(), "each index exactly once");
        orders.push(idx);
    }
    assert_ne!(orders[0], orders[1]);
    let again: Vec<usize> = ds.shuffled_batches(16, false, 1000).unwrap().flat_map(|b| b.indices).collect();
    assert_eq!(again, orders[0], "same seed, same order");
    let dropped: Vec<usize> = ds.shuffled_batches(16, true, 5).unwrap().flat_map(|b| b.indices).collect();
    assert_eq!(dropped.len(), 96);
    assert_eq!(dropped.iter().collect::<HashSet<_>>().len(), 96);
    assert!(matches!(ds.batches(0, false), Err(DataError::InvalidArgument(_))));
    assert_eq!(indexed(3).batches(5, true).unwrap().count(), 0);
}

#[test]
fn one_hot_encoding() {
    assert_eq!(one_hot(&[2, 0], 3).unwrap(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    assert!(one_hot(&[2, 0], usize::MAX).is_err() && one_hot(&[2], 0).is_err());
    // Sizes whose product overflows, or passes the host limit, are refused before allocating.
    assert!(matches!(synthetic(usize::MAX, [2, 2, 1], 3, 0), Err(DataError::InvalidArgument(_))));
    assert!(matches!(synthetic(1 << 20, [1 << 10, 1 << 10, 1], 3, 0), Err(DataError::InvalidArgument(_))));
    assert!(matches!(Dataset::new(vec![], vec![], [usize::MAX, 2, 2], 3), Err(DataError::InvalidArgument(_))));
    let batch = indexed(4).batches(4, false).unwrap().next().unwrap();
    let oh = batch.one_hot();
    assert_eq!(oh.len(), 40);
    for (row, &l) in batch.labels.iter().enumerate() {
        let r = &oh[row * 10..row * 10 + 10];
        assert_eq!(r.iter().sum::<f32>(), 1.0);
        assert_eq!(r[usize::from(l)], 1.0);
    }
}

#[test]
fn synthetic_is_deterministic() {
    let a = synthetic(20, [5, 6, 2], 4, 7).unwrap();
    assert_eq!(a, synthetic(20, [5, 6, 2], 4, 7).unwrap());
    assert_ne!(a, synthetic(20, [5, 6, 2], 4, 8).unwrap());
    assert_eq!(a.shape(), [20, 5, 6, 2]);
    assert!(a.labels().iter().all(|&l| l < 4));
    assert!(a.images().iter().all(|&x| (0.0..0.9).contains(&x)));
    assert!(a.label_histogram().iter().all(|&c| c > 0));
    assert!(synthetic(1, [1, 1, 1], 0, 0).is_err());
}
