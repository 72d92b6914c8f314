//! `antorcha-data`: PyTorch's `torch.utils.data` in Rust — datasets, `DataLoader`, samplers,
//! `random_split`, transforms — plus data files (IDX for MNIST/FashionMNIST, numpy's `.npy`)
//! and numpy's legacy `RandomState`, so data made with `np.random.seed` come out identical.
//!
//! The notebook's data, bit for bit as numpy makes them, then batches for training:
//!
//! ```
//! use antorcha_data::{DataLoader, Dataset, RandomState, Subset, TensorDataset};
//! use antorcha_tensor::Tensor;
//!
//! let mut rs = RandomState::new(42); // np.random.seed(42)
//! let x = rs.rand(&[100, 1]); // np.random.rand(100, 1)
//! let noise = rs.randn(&[100, 1]); // np.random.randn(100, 1)
//! let y = x.map(|&v| 1.0 + 2.0 * v) + noise.map(|&e| 0.1 * e);
//! let mut idx: Vec<usize> = (0..100).collect();
//! rs.shuffle(&mut idx); // np.random.shuffle(idx)
//! let (train_idx, val_idx) = idx.split_at(80);
//!
//! let data = TensorDataset::new((x.cast::<f32>(), y.cast::<f32>()))?;
//! let train = Subset::new(data.clone(), train_idx.to_vec())?;
//! let val = Subset::new(data, val_idx.to_vec())?;
//! assert_eq!((train.len(), val.len()), (80, 20));
//!
//! let loader = DataLoader::builder(train).batch_size(16).shuffle(true).seed(13).build()?;
//! for epoch in 0..3 {
//!     for batch in &loader {
//!         let (xb, yb) = batch?; // [16, 1] each, a new order every epoch
//!         assert_eq!((xb.shape(), yb.shape()), (&[16, 1][..], &[16, 1][..]));
//!     }
//! }
//! # Ok::<(), antorcha_data::DataError>(())
//! ```
//!
//! FashionMNIST from the four standard files (plain or `.gz`) in a folder, with transforms and
//! background loading:
//!
//! ```no_run
//! use antorcha_data::{compose, DataLoader, DatasetExt, FashionMnist, Normalize, ToTensor, Transform};
//!
//! let transform = compose![ToTensor, Normalize::new(vec![0.5], vec![0.5])?];
//! let train = FashionMnist::new("data", true)?
//!     .map(move |(img, label)| Ok((transform.apply(img)?, label)));
//! let loader = DataLoader::builder(train).batch_size(64).shuffle(true).num_workers(2).build()?;
//! for batch in &loader {
//!     let (images, labels) = batch?; // f32 [64, 1, 28, 28], i64 [64]
//! }
//! // Faster still: `FashionMnist::to_tensor_dataset()` gathers whole batches with `index_select`.
//! # Ok::<(), antorcha_data::DataError>(())
//! ```

#![warn(missing_docs)]
mod bounds;
mod dataset;
mod error;
mod gather;
pub mod idx;
mod lent;
mod loader;
pub mod npy;
mod random_state;
mod sampler;
mod transforms;

pub use dataset::{
    check_index, random_split, Collate, ConcatDataset, Dataset, DatasetExt, Lengths, MapDataset,
    Subset, TensorDataset, Tensors,
};
pub use error::{DataError, Result};
pub use idx::FashionMnist;
pub use loader::{DataLoader, DataLoaderBuilder, Iter};
pub use random_state::RandomState;
pub use sampler::{
    BatchSampler, Batcher, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
    WeightedRandomSampler,
};
pub use transforms::{Compose, Lambda, Normalize, ToTensor, Transform, TransformExt};
