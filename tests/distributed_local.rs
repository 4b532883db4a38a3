//! Data-parallel machinery that needs no MPI: the backward hook that hands each variable's
//! final gradient over while backward continues, `DataParallel` on one process (bucketed
//! readback and reassembly equal a plain step), and batch sharding.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use tessera::distributed::{shard, DataParallel, SingleProcess};
use tessera::nn::replica::{cross_replica_sum, sync_batch_norm_training, ReplicaGroup};
use tessera::prelude::*;
use tessera::train::{train_step, train_step_distributed};

/// The hook reports every variable once, with the gradient `backward` returns, last layer first.
#[test]
fn backward_with_reports_each_final_gradient_once() {
    for dev in [Device::Cpu, common::gpu()] {
        let mut m = tessera::zoo::lenet5();
        m.build(&[28, 28, 1], &dev, 3).unwrap();
        let x = Tensor::from_vec(common::rand_vec(4 * 28 * 28, 5), &[4, 28, 28, 1], &dev).unwrap();
        let y = Tensor::from_vec(vec![1.0, 7.0, 3.0, 0.0], &[4], &dev).unwrap();
        let loss = sparse_categorical_crossentropy(&y, &m.call(&x, true).unwrap(), true).unwrap();
        let mut seen: Vec<(u64, Vec<f32>)> = Vec::new();
        let grads = loss
            .backward_with_hook(&mut |v, g| {
                seen.push((v.id(), g.to_vec()?));
                Ok(())
            })
            .unwrap();
        let vars = m.trainable_variables();
        assert_eq!(seen.len(), vars.len(), "one report per variable");
        let pos: HashMap<u64, usize> = seen.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
        for v in &vars {
            let i = pos[&v.value().id()];
            let want = grads.get(&v.value()).unwrap().to_vec().unwrap();
            common::assert_close_vec(&seen[i].1, &want, 0.0, v.name());
        }
        let first_conv = pos[&vars[0].value().id()];
        let last_dense = pos[&vars[vars.len() - 1].value().id()];
        assert!(last_dense < first_conv, "the last layer's gradients are final before the first layer's");
    }
}

/// A variable used by two ops is reported once, after both contributions are summed.
#[test]
fn backward_with_waits_for_every_use_of_a_shared_variable() {
    let w = Tensor::from_vec(common::rand_vec(6, 1), &[3, 2], &Device::Cpu).unwrap().variable();
    let a = Tensor::from_vec(common::rand_vec(12, 2), &[4, 3], &Device::Cpu).unwrap();
    let b = Tensor::from_vec(common::rand_vec(6, 3), &[2, 3], &Device::Cpu).unwrap();
    let y1 = reduce_sum(&matmul(&a, &w).unwrap(), None, false).unwrap();
    let y2 = reduce_sum(&relu(&matmul(&b, &w).unwrap()).unwrap(), None, false).unwrap();
    let loss = add(&y1, &y2).unwrap();
    let mut reports = Vec::new();
    let grads = loss
        .backward_with_hook(&mut |_, g| {
            reports.push(g.to_vec()?);
            Ok(())
        })
        .unwrap();
    assert_eq!(reports.len(), 1);
    common::assert_close_vec(&reports[0], &grads.get(&w).unwrap().to_vec().unwrap(), 0.0, "shared w");
}

/// One process through `DataParallel` (tiny buckets: gradients read back bucket by bucket and
/// rebuilt) trains exactly like the plain step.
#[test]
fn single_process_data_parallel_equals_plain_training() {
    for dev in [Device::Cpu, common::gpu()] {
        let build = || {
            let mut m = tessera::zoo::lenet5();
            m.build(&[28, 28, 1], &dev, 11).unwrap();
            m
        };
        let (plain, wrapped) = (build(), build());
        let mut dp = DataParallel::new(Arc::new(SingleProcess), wrapped.variables()).unwrap();
        dp.set_bucket_bytes(8 * 1024);
        assert!(dp.stats().buckets >= 4, "8 KiB buckets: {:?}", dp.stats());
        let (mut o1, mut o2) = (Adam::new(1e-3), Adam::new(1e-3));
        for step in 0..3u64 {
            let x = Tensor::from_vec(common::rand_vec(8 * 28 * 28, 20 + step), &[8, 28, 28, 1], &dev).unwrap();
            let y = Tensor::from_vec((0..8).map(|i| ((i + step) % 10) as f32).collect(), &[8], &dev).unwrap();
            train_step(&plain, &mut o1, &x, &y).unwrap();
            train_step_distributed(&wrapped, &mut o2, &mut dp, &x, &y, 8).unwrap();
        }
        for (a, b) in wrapped.variables().iter().zip(plain.variables()) {
            let (got, want) = (a.value().to_vec().unwrap(), b.value().to_vec().unwrap());
            common::assert_close_vec(&got, &want, 1e-6, &format!("{dev}: {}", a.name()));
        }
        assert_eq!(dp.stats().steps, 3);
        assert_eq!(dp.stats().bytes_per_step, 60_074 * 4);
    }
}

/// Shards partition a batch in order, sizes differing by at most one.
#[test]
fn shards_partition_the_batch() {
    for (n, size) in [(64, 2), (65, 2), (10, 3), (7, 7), (100, 8)] {
        let parts: Vec<_> = (0..size).map(|r| shard(n, r, size)).collect();
        assert_eq!(parts[0].start, 0);
        assert_eq!(parts[size - 1].end, n);
        for w in parts.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        assert!(lens.iter().max().unwrap() - lens.iter().min().unwrap() <= 1, "{n}/{size}: {lens:?}");
    }
}

/// `--distributed` without the `mpi` feature is a clear error, not a silent one-process run.
#[cfg(not(feature = "mpi"))]
#[test]
fn distributed_without_the_mpi_feature_is_an_error() {
    let cfg = tessera::train::TrainConfig { distributed: true, ..Default::default() };
    let err = tessera::train::communicator(&cfg).err().expect("an error").to_string();
    assert!(err.contains("`mpi` feature"), "{err}");
}

/// One replica: every sum is its input.
struct Alone;

impl ReplicaGroup for Alone {
    fn all_reduce_sum(&self, data: Vec<f32>) -> tessera::Result<Vec<f32>> {
        Ok(data)
    }
}

/// Synchronized batch norm on one replica equals `batch_norm_training` (values, statistics).
#[test]
fn sync_batch_norm_on_one_replica_equals_batch_norm() {
    let group: Arc<dyn ReplicaGroup> = Arc::new(Alone);
    for dev in [Device::Cpu, common::gpu()] {
        let x = Tensor::from_vec(common::rand_vec(3 * 5 * 4 * 6, 41), &[3, 5, 4, 6], &dev).unwrap();
        let g = Tensor::from_vec(common::rand_vec(6, 42), &[6], &dev).unwrap();
        let b = Tensor::from_vec(common::rand_vec(6, 43), &[6], &dev).unwrap();
        let got = sync_batch_norm_training(&x, &g, &b, 1e-3, &group).unwrap();
        let want = batch_norm_training(&x, &g, &b, 1e-3).unwrap();
        for (i, (a, w)) in [(&got.0, &want.0), (&got.1, &want.1), (&got.2, &want.2)].into_iter().enumerate() {
            common::assert_close(a, w, common::RTOL, &format!("{dev}: output {i}"));
        }
    }
    let bad = Tensor::zeros(&[2, 3], &Device::Cpu).unwrap();
    assert!(sync_batch_norm_training(&bad, &bad, &bad, 1e-3, &group).is_err(), "gamma of the wrong shape");
}

/// Gradients of synchronized batch norm and of the cross-replica sum: finite differences on
/// the CPU and GPU-vs-CPU parity.
#[test]
fn sync_batch_norm_gradients() {
    let group: Arc<dyn ReplicaGroup> = Arc::new(Alone);
    let gr = group.clone();
    common::grad_check("sync_batch_norm", &[&[4, 3, 2, 5], &[5], &[5]], 50, move |t| {
        Ok(sync_batch_norm_training(&t[0], &t[1], &t[2], 1e-3, &gr)?.0)
    });
    common::grad_check("cross_replica_sum", &[&[3, 4]], 60, move |t| cross_replica_sum(&t[0], &group));
}
