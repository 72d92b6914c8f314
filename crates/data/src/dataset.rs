//! Datasets: the `Dataset` trait, `TensorDataset`, `Subset`, `ConcatDataset`, `MapDataset`,
//! default collation (`Collate`) and `random_split`.

use std::sync::Arc;

use antorcha_tensor::{Element, Generator, Tensor};

use crate::error::{DataError, Result};

/// A collection of samples that can be read by index, like `torch.utils.data.Dataset`
/// (a map-style dataset): any item type.
///
/// ```
/// use antorcha_data::{Dataset, Result};
/// struct Squares(usize);
/// impl Dataset for Squares {
///     type Item = i64;
///     fn len(&self) -> usize { self.0 }
///     fn get(&self, i: usize) -> Result<i64> {
///         antorcha_data::check_index("Squares", i, self.0)?;
///         Ok((i * i) as i64)
///     }
/// }
/// let ds = Squares(4);
/// assert_eq!(ds.get(3)?, 9);
/// assert!(ds.get(4).is_err());
/// // Items that implement `Collate` can be fetched as a batch.
/// assert_eq!(ds.get_batch(&[1, 2])?.to_vec(), vec![1, 4]);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
pub trait Dataset {
    /// One sample.
    type Item;

    /// The number of samples, like `len(dataset)`.
    fn len(&self) -> usize;

    /// Whether the dataset has no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sample at `index` (`dataset[index]`); an index `>= len()` is an
    /// [`DataError::IndexOutOfRange`] error.
    fn get(&self, index: usize) -> Result<Self::Item>;

    /// Fetches the samples at `indices` and collates them into one batch. The default calls
    /// [`get`](Dataset::get) for each index and [`Collate::collate`]s the items; datasets
    /// that can gather a batch in one go (like [`TensorDataset`]: one `index_select` per
    /// tensor) override it, and the [`DataLoader`](crate::DataLoader) uses it.
    fn get_batch(&self, indices: &[usize]) -> Result<<Self::Item as Collate>::Batch>
    where
        Self::Item: Collate,
    {
        let items = indices
            .iter()
            .map(|&i| self.get(i))
            .collect::<Result<Vec<_>>>()?;
        Collate::collate(items)
    }
}

/// An error for `index >= len`, named after `op`; for writing [`Dataset::get`].
pub fn check_index(op: &'static str, index: usize, len: usize) -> Result<()> {
    if index >= len {
        return Err(DataError::IndexOutOfRange { op, index, len });
    }
    Ok(())
}

fn check_indices(op: &'static str, indices: &[usize], len: usize) -> Result<()> {
    match indices.iter().find(|&&i| i >= len) {
        Some(&index) => Err(DataError::IndexOutOfRange { op, index, len }),
        None => Ok(()),
    }
}

macro_rules! forward_dataset {
    ($($ptr:ty),*) => {$(
        impl<D: Dataset + ?Sized> Dataset for $ptr {
            type Item = D::Item;
            fn len(&self) -> usize {
                (**self).len()
            }
            fn get(&self, index: usize) -> Result<D::Item> {
                (**self).get(index)
            }
            fn get_batch(&self, indices: &[usize]) -> Result<<D::Item as Collate>::Batch>
            where
                D::Item: Collate,
            {
                (**self).get_batch(indices)
            }
        }
    )*};
}
forward_dataset!(&D, Arc<D>, Box<D>);

/// Turns a list of items into one batch, like PyTorch's `default_collate`: tensors are stacked
/// along a new first dimension, numbers become a 1-d tensor, and tuples and `Vec`s of tensors
/// are collated position by position.
///
/// ```
/// use antorcha_data::Collate;
/// use antorcha_tensor::Tensor;
/// let items = vec![(Tensor::from(vec![1.0f32, 2.0]), 0i64), (Tensor::from(vec![3.0, 4.0]), 1)];
/// let (x, y) = Collate::collate(items)?;
/// assert_eq!(x.shape(), &[2, 2]);
/// assert_eq!(y.to_vec(), vec![0, 1]);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
pub trait Collate: Sized {
    /// The batched form.
    type Batch;
    /// Collates `items` (in order) into one batch.
    fn collate(items: Vec<Self>) -> Result<Self::Batch>;
}

impl<T: Element> Collate for Tensor<T> {
    type Batch = Tensor<T>;
    fn collate(items: Vec<Self>) -> Result<Tensor<T>> {
        let refs: Vec<&Tensor<T>> = items.iter().collect();
        Ok(Tensor::try_stack(&refs, 0)?)
    }
}

impl<T: Element> Collate for Vec<Tensor<T>> {
    type Batch = Vec<Tensor<T>>;
    fn collate(items: Vec<Self>) -> Result<Vec<Tensor<T>>> {
        let Some(first) = items.first() else {
            return Err(DataError::invalid(
                "collate",
                "cannot collate an empty list of items",
            ));
        };
        let width = first.len();
        if let Some(i) = items.iter().position(|v| v.len() != width) {
            return Err(DataError::invalid(
                "collate",
                format!(
                    "item {i} has {} tensors but item 0 has {width}",
                    items[i].len()
                ),
            ));
        }
        (0..width)
            .map(|k| {
                let refs: Vec<&Tensor<T>> = items.iter().map(|v| &v[k]).collect();
                Ok(Tensor::try_stack(&refs, 0)?)
            })
            .collect()
    }
}

macro_rules! collate_scalar {
    ($($t:ty),*) => {$(
        impl Collate for $t {
            type Batch = Tensor<$t>;
            fn collate(items: Vec<Self>) -> Result<Tensor<$t>> {
                Ok(Tensor::from(items))
            }
        }
    )*};
}
collate_scalar!(f32, f64, i64, i32, u8, bool);

macro_rules! collate_tuple {
    ($($name:ident $var:ident $idx:tt),*) => {
        impl<$($name: Collate),*> Collate for ($($name,)*) {
            type Batch = ($($name::Batch,)*);
            fn collate(items: Vec<Self>) -> Result<Self::Batch> {
                $(let mut $var = Vec::with_capacity(items.len());)*
                for item in items {
                    $($var.push(item.$idx);)*
                }
                Ok(($($name::collate($var)?,)*))
            }
        }
    };
}
collate_tuple!(A a 0, B b 1);
collate_tuple!(A a 0, B b 1, C c 2);
collate_tuple!(A a 0, B b 1, C c 2, E e 3);

/// What a [`TensorDataset`] can hold: a tensor, a `Vec` of same-typed tensors, or a tuple
/// of these (so `(Tensor<f32>, Tensor<i64>)` for features and class labels). Rows and batches
/// have the same form.
pub trait Tensors: Collate<Batch = Self> + Clone {
    /// The first dimension of every tensor, in order (`None` for a 0-d tensor).
    fn first_dims(&self, out: &mut Vec<Option<usize>>);
    /// Row `index` of every tensor (`tensor[index]`), unchecked beyond the tensor's own checks.
    fn row(&self, index: usize) -> Result<Self>;
    /// The rows `indices` of every tensor, one `index_select` each (split across both
    /// threads for a large batch).
    fn rows(&self, indices: &[usize]) -> Result<Self>;
}

impl<T: Element> Tensors for Tensor<T> {
    fn first_dims(&self, out: &mut Vec<Option<usize>>) {
        out.push(self.shape().first().copied());
    }
    fn row(&self, index: usize) -> Result<Self> {
        Ok(self.try_select(0, index as isize)?)
    }
    fn rows(&self, indices: &[usize]) -> Result<Self> {
        crate::gather::index_select_rows(self, indices)
    }
}

impl<T: Element> Tensors for Vec<Tensor<T>> {
    fn first_dims(&self, out: &mut Vec<Option<usize>>) {
        out.extend(self.iter().map(|t| t.shape().first().copied()));
    }
    fn row(&self, index: usize) -> Result<Self> {
        self.iter().map(|t| t.row(index)).collect()
    }
    fn rows(&self, indices: &[usize]) -> Result<Self> {
        self.iter().map(|t| t.rows(indices)).collect()
    }
}

macro_rules! tensors_tuple {
    ($($name:ident $idx:tt),*) => {
        impl<$($name: Tensors),*> Tensors for ($($name,)*) {
            fn first_dims(&self, out: &mut Vec<Option<usize>>) {
                $(self.$idx.first_dims(out);)*
            }
            fn row(&self, index: usize) -> Result<Self> {
                Ok(($(self.$idx.row(index)?,)*))
            }
            fn rows(&self, indices: &[usize]) -> Result<Self> {
                Ok(($(self.$idx.rows(indices)?,)*))
            }
        }
    };
}
tensors_tuple!(A 0, B 1);
tensors_tuple!(A 0, B 1, C 2);
tensors_tuple!(A 0, B 1, C 2, E 3);

/// Tensors that share their first dimension, read row by row, like
/// `torch.utils.data.TensorDataset`. Item `i` is row `i` of each tensor, in the same form
/// (a `Vec` of tensors for a `Vec`, a tuple for a tuple).
///
/// A batch is gathered with one `index_select` per tensor, never by stacking rows; with two
/// threads ([`antorcha_tensor::set_num_threads`]) a large batch's rows are copied on both.
///
/// ```
/// use antorcha_data::{Dataset, TensorDataset};
/// use antorcha_tensor::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]);
/// let y = Tensor::from_vec(vec![0i64, 1, 0], &[3]);
/// let ds = TensorDataset::new((x, y))?;
/// let (xi, yi) = ds.get(1)?;
/// assert_eq!((xi.to_vec(), yi.item()), (vec![3.0, 4.0], 1));
/// let (xb, yb) = ds.get_batch(&[2, 0])?;
/// assert_eq!((xb.shape(), yb.to_vec()), (&[2, 2][..], vec![0, 0]));
///
/// // A `Vec` of same-typed tensors works too: items are `Vec`s of rows.
/// let ds = TensorDataset::new(vec![Tensor::<f32>::zeros(&[3, 1]), Tensor::ones(&[3])])?;
/// assert_eq!(ds.get(0)?.len(), 2);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TensorDataset<S> {
    tensors: S,
    len: usize,
}

impl<S: Tensors> TensorDataset<S> {
    /// Wraps tensors that all have the same size in dimension 0; an error names the sizes
    /// when they differ or a tensor is 0-d.
    pub fn new(tensors: S) -> Result<Self> {
        let mut dims = Vec::new();
        tensors.first_dims(&mut dims);
        let first = dims.first().copied().flatten();
        let len = match first {
            Some(n) if dims.iter().all(|&d| d == Some(n)) => n,
            _ => {
                return Err(if dims.is_empty() {
                    DataError::invalid("TensorDataset", "needs at least one tensor")
                } else {
                    DataError::SizeMismatch {
                        sizes: dims.iter().map(|d| d.unwrap_or(0)).collect(),
                    }
                })
            }
        };
        Ok(TensorDataset { tensors, len })
    }

    /// The tensors.
    pub fn tensors(&self) -> &S {
        &self.tensors
    }
}

impl<S: Tensors> Dataset for TensorDataset<S> {
    type Item = S;

    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, index: usize) -> Result<S> {
        check_index("TensorDataset::get", index, self.len)?;
        self.tensors.row(index)
    }

    fn get_batch(&self, indices: &[usize]) -> Result<S> {
        check_indices("TensorDataset::get_batch", indices, self.len)?;
        self.tensors.rows(indices)
    }
}

/// The samples of `dataset` at `indices`, in that order, like `torch.utils.data.Subset`.
///
/// ```
/// use antorcha_data::{Dataset, Subset, TensorDataset};
/// use antorcha_tensor::Tensor;
/// let ds = TensorDataset::new(Tensor::from(vec![10i64, 11, 12, 13]))?;
/// let sub = Subset::new(ds, vec![3, 1])?;
/// assert_eq!(sub.len(), 2);
/// assert_eq!(sub.get(0)?.item(), 13);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Subset<D> {
    dataset: D,
    indices: Vec<usize>,
}

impl<D: Dataset> Subset<D> {
    /// The subset at `indices`; an index past the end of `dataset` is an error.
    pub fn new(dataset: D, indices: Vec<usize>) -> Result<Self> {
        check_indices("Subset::new", &indices, dataset.len())?;
        Ok(Subset { dataset, indices })
    }

    /// The indices into the underlying dataset.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The underlying dataset.
    pub fn dataset(&self) -> &D {
        &self.dataset
    }
}

impl<D: Dataset> Dataset for Subset<D> {
    type Item = D::Item;

    fn len(&self) -> usize {
        self.indices.len()
    }

    fn get(&self, index: usize) -> Result<D::Item> {
        check_index("Subset::get", index, self.indices.len())?;
        self.dataset.get(self.indices[index])
    }

    fn get_batch(&self, indices: &[usize]) -> Result<<D::Item as Collate>::Batch>
    where
        D::Item: Collate,
    {
        check_indices("Subset::get_batch", indices, self.indices.len())?;
        let mapped: Vec<usize> = indices.iter().map(|&i| self.indices[i]).collect();
        self.dataset.get_batch(&mapped)
    }
}

/// Several datasets of the same type one after the other, like
/// `torch.utils.data.ConcatDataset`.
///
/// ```
/// use antorcha_data::{ConcatDataset, Dataset, TensorDataset};
/// use antorcha_tensor::Tensor;
/// let a = TensorDataset::new(Tensor::from(vec![1i64, 2]))?;
/// let b = TensorDataset::new(Tensor::from(vec![3i64]))?;
/// let both = ConcatDataset::new(vec![a, b]);
/// assert_eq!(both.len(), 3);
/// assert_eq!(both.get(2)?.item(), 3);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ConcatDataset<D> {
    datasets: Vec<D>,
    /// `ends[k]` = total length of datasets `0..=k`.
    ends: Vec<usize>,
}

impl<D: Dataset> ConcatDataset<D> {
    /// Joins `datasets` in order.
    pub fn new(datasets: Vec<D>) -> Self {
        let ends = datasets
            .iter()
            .scan(0usize, |acc, d| {
                *acc += d.len();
                Some(*acc)
            })
            .collect();
        ConcatDataset { datasets, ends }
    }

    /// The joined datasets.
    pub fn datasets(&self) -> &[D] {
        &self.datasets
    }

    /// Which dataset holds global `index`, and the index inside it.
    fn locate(&self, index: usize) -> Result<(usize, usize)> {
        check_index("ConcatDataset::get", index, self.len())?;
        let k = self.ends.partition_point(|&end| end <= index);
        let start = if k == 0 { 0 } else { self.ends[k - 1] };
        Ok((k, index - start))
    }
}

impl<D: Dataset> Dataset for ConcatDataset<D> {
    type Item = D::Item;

    fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    fn get(&self, index: usize) -> Result<D::Item> {
        let (k, i) = self.locate(index)?;
        self.datasets[k].get(i)
    }

    /// When every index falls in one member dataset its own (possibly fast) `get_batch` is
    /// used; otherwise items are fetched one by one and collated.
    fn get_batch(&self, indices: &[usize]) -> Result<<D::Item as Collate>::Batch>
    where
        D::Item: Collate,
    {
        let located = indices
            .iter()
            .map(|&i| self.locate(i))
            .collect::<Result<Vec<_>>>()?;
        match located.first() {
            Some(&(k, _)) if located.iter().all(|&(j, _)| j == k) => {
                let inner: Vec<usize> = located.iter().map(|&(_, i)| i).collect();
                self.datasets[k].get_batch(&inner)
            }
            _ => Collate::collate(
                located
                    .iter()
                    .map(|&(k, i)| self.datasets[k].get(i))
                    .collect::<Result<Vec<_>>>()?,
            ),
        }
    }
}

/// A dataset whose items pass through a function (a transform), made by [`DatasetExt::map`].
#[derive(Clone)]
pub struct MapDataset<D, F> {
    dataset: D,
    f: F,
}

impl<D: Dataset, U, F: Fn(D::Item) -> Result<U>> Dataset for MapDataset<D, F> {
    type Item = U;

    fn len(&self) -> usize {
        self.dataset.len()
    }

    fn get(&self, index: usize) -> Result<U> {
        (self.f)(self.dataset.get(index)?)
    }
}

/// Adapters for every [`Dataset`].
pub trait DatasetExt: Dataset + Sized {
    /// Applies `f` to every item as it is read (e.g. a [`Transform`](crate::Transform)),
    /// like passing `transform=` to a torchvision dataset.
    ///
    /// ```
    /// use antorcha_data::{Dataset, DatasetExt, TensorDataset};
    /// use antorcha_tensor::Tensor;
    /// let ds = TensorDataset::new(Tensor::from(vec![1i64, 2, 3]))?.map(|t| Ok(t.item() * 10));
    /// assert_eq!(ds.get(2)?, 30);
    /// # Ok::<(), antorcha_data::DataError>(())
    /// ```
    fn map<U, F: Fn(Self::Item) -> Result<U>>(self, f: F) -> MapDataset<Self, F> {
        MapDataset { dataset: self, f }
    }
}

impl<D: Dataset> DatasetExt for D {}

/// How [`random_split`] divides a dataset: exact lengths, or fractions that sum to 1.
#[derive(Clone, Debug, PartialEq)]
pub enum Lengths {
    /// Lengths that must add up to the dataset's length.
    Counts(Vec<usize>),
    /// Fractions in `[0, 1]` that must sum to 1.
    Fractions(Vec<f64>),
}

impl From<Vec<usize>> for Lengths {
    fn from(v: Vec<usize>) -> Self {
        Lengths::Counts(v)
    }
}
impl From<&[usize]> for Lengths {
    fn from(v: &[usize]) -> Self {
        Lengths::Counts(v.to_vec())
    }
}
impl<const N: usize> From<[usize; N]> for Lengths {
    fn from(v: [usize; N]) -> Self {
        Lengths::Counts(v.to_vec())
    }
}
impl From<Vec<f64>> for Lengths {
    fn from(v: Vec<f64>) -> Self {
        Lengths::Fractions(v)
    }
}
impl From<&[f64]> for Lengths {
    fn from(v: &[f64]) -> Self {
        Lengths::Fractions(v.to_vec())
    }
}
impl<const N: usize> From<[f64; N]> for Lengths {
    fn from(v: [f64; N]) -> Self {
        Lengths::Fractions(v.to_vec())
    }
}

impl Lengths {
    /// The exact lengths for a dataset of `n` items. Fractions follow PyTorch: each part gets
    /// `floor(n * fraction)`, then the remainder is handed out one item at a time to the parts
    /// in order, round-robin.
    pub fn resolve(&self, n: usize) -> Result<Vec<usize>> {
        let counts = match self {
            Lengths::Counts(c) => c.clone(),
            Lengths::Fractions(f) => {
                let sum: f64 = f.iter().sum();
                // math.isclose(sum, 1) with its default relative tolerance.
                let close = (sum - 1.0).abs() <= 1e-9 * sum.abs().max(1.0);
                if f.is_empty() || !close || f.iter().any(|x| !(0.0..=1.0).contains(x)) {
                    return Err(DataError::SplitFractions {
                        fractions: f.clone(),
                        sum,
                    });
                }
                let mut counts: Vec<usize> =
                    f.iter().map(|&x| (n as f64 * x).floor() as usize).collect();
                let assigned: usize = counts.iter().sum();
                let remainder = n.checked_sub(assigned).ok_or(DataError::SplitFractions {
                    fractions: f.clone(),
                    sum,
                })?;
                let parts = counts.len();
                for i in 0..remainder {
                    counts[i % parts] += 1;
                }
                counts
            }
        };
        let sum = counts.iter().try_fold(0usize, |a, &c| a.checked_add(c));
        if sum != Some(n) {
            return Err(DataError::SplitLengths {
                sum: sum.unwrap_or(usize::MAX),
                lengths: counts,
                len: n,
            });
        }
        Ok(counts)
    }
}

/// Splits `dataset` at random into non-overlapping subsets of the given lengths or fractions,
/// like `torch.utils.data.random_split(dataset, lengths, generator=g)`: `randperm(n)` from `g`,
/// cut into consecutive pieces, so a generator seeded like `torch.Generator().manual_seed(s)`
/// gives PyTorch's indices. For PyTorch's default (the global generator), pass it with
/// [`with_global_rng`](antorcha_tensor::with_global_rng).
///
/// `dataset` is cloned into each part: pass an `Arc` (or a reference) when cloning it would
/// copy much; a [`TensorDataset`]'s tensors are shared, not copied.
///
/// ```
/// use antorcha_data::{random_split, Dataset, TensorDataset};
/// use antorcha_tensor::{Generator, Tensor};
/// let ds = TensorDataset::new(Tensor::<f32>::zeros(&[10, 3]))?;
/// // random_split(ds, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
/// let parts = random_split(ds, [0.8, 0.2], &mut Generator::new(42))?;
/// assert_eq!((parts[0].len(), parts[1].len()), (8, 2));
/// assert_eq!(parts[1].indices(), &[3, 7]);
/// # Ok::<(), antorcha_data::DataError>(())
/// ```
pub fn random_split<D>(
    dataset: D,
    lengths: impl Into<Lengths>,
    generator: &mut Generator,
) -> Result<Vec<Subset<D>>>
where
    D: Dataset + Clone,
{
    let n = dataset.len();
    let counts = lengths.into().resolve(n)?;
    let perm = generator.randperm(n);
    let mut start = 0;
    Ok(counts
        .iter()
        .map(|&c| {
            let part = Subset {
                dataset: dataset.clone(),
                indices: perm[start..start + c].to_vec(),
            };
            start += c;
            part
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xy() -> TensorDataset<(Tensor<f32>, Tensor<i64>)> {
        let x = Tensor::from_vec((0..8).map(|v| v as f32).collect(), &[4, 2]);
        let y = Tensor::from(vec![10i64, 11, 12, 13]);
        TensorDataset::new((x, y)).unwrap()
    }

    #[test]
    fn tensor_dataset_rows_and_batches() {
        let ds = xy();
        assert_eq!(ds.len(), 4);
        let (x, y) = ds.get(3).unwrap();
        assert_eq!(x.shape(), &[2]);
        assert_eq!(x.to_vec(), vec![6.0, 7.0]);
        assert_eq!(y.shape(), &[] as &[usize]);
        assert_eq!(y.item(), 13);
        let (xb, yb) = ds.get_batch(&[3, 0, 3]).unwrap();
        assert_eq!(xb.shape(), &[3, 2]);
        assert_eq!(xb.to_vec(), vec![6.0, 7.0, 0.0, 1.0, 6.0, 7.0]);
        assert_eq!(yb.to_vec(), vec![13, 10, 13]);
        // The fast path equals get + collate.
        let items: Vec<_> = [3, 0, 3].iter().map(|&i| ds.get(i).unwrap()).collect();
        assert_eq!(Collate::collate(items).unwrap(), (xb, yb));
        let (xe, ye) = ds.get_batch(&[]).unwrap();
        assert_eq!((xe.shape(), ye.shape()), (&[0, 2][..], &[0][..]));
    }

    #[test]
    fn tensor_dataset_errors() {
        let ds = xy();
        let e = ds.get(4).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::IndexOutOfRange {
                    index: 4,
                    len: 4,
                    ..
                }
            ),
            "{e}"
        );
        assert!(ds
            .get_batch(&[0, 9])
            .unwrap_err()
            .to_string()
            .contains("index 9"));
        let e = TensorDataset::new((
            Tensor::<f32>::zeros(&[3, 2]),
            Tensor::<i64>::from(vec![1, 2]),
        ))
        .unwrap_err();
        assert!(e.to_string().contains("[3, 2]"), "{e}");
        let e = TensorDataset::new(Tensor::scalar(1.0f32)).unwrap_err();
        assert!(matches!(e, DataError::SizeMismatch { .. }), "{e}");
        let e = TensorDataset::new(Vec::<Tensor<f32>>::new()).unwrap_err();
        assert!(e.to_string().contains("at least one"), "{e}");
    }

    #[test]
    fn vec_tensor_dataset() {
        let ds = TensorDataset::new(vec![
            Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3, 1]),
            Tensor::from(vec![4.0, 5.0, 6.0]),
        ])
        .unwrap();
        let item = ds.get(1).unwrap();
        assert_eq!(item[0].to_vec(), vec![2.0]);
        assert_eq!(item[1].item(), 5.0);
        let b = ds.get_batch(&[2, 1]).unwrap();
        assert_eq!(b[0].shape(), &[2, 1]);
        assert_eq!(b[1].to_vec(), vec![6.0, 5.0]);
    }

    #[test]
    fn collate_rules() {
        let e = <Tensor<f32> as Collate>::collate(vec![]).unwrap_err();
        assert!(e.to_string().contains("non-empty"), "{e}");
        let e =
            Collate::collate(vec![Tensor::<f32>::zeros(&[2]), Tensor::zeros(&[3])]).unwrap_err();
        assert!(
            e.to_string().contains("[2]") && e.to_string().contains("[3]"),
            "{e}"
        );
        let b = Collate::collate(vec![(1.5f64, true, 3i64), (2.5, false, 4)]).unwrap();
        assert_eq!(b.0.to_vec(), vec![1.5, 2.5]);
        assert_eq!(b.1.to_vec(), vec![true, false]);
        assert_eq!(b.2.to_vec(), vec![3, 4]);
        let e = Collate::collate(vec![vec![Tensor::<f32>::zeros(&[1])], vec![]]).unwrap_err();
        assert!(e.to_string().contains("item 1"), "{e}");
        let s = Collate::collate(vec![Tensor::scalar(1i64), Tensor::scalar(2)]).unwrap();
        assert_eq!(s.shape(), &[2]);
    }

    #[test]
    fn subset_and_concat() {
        let ds = xy();
        let sub = Subset::new(ds.clone(), vec![2, 0]).unwrap();
        assert_eq!(sub.len(), 2);
        assert_eq!(sub.get(0).unwrap().1.item(), 12);
        assert_eq!(sub.get_batch(&[1, 0]).unwrap().1.to_vec(), vec![10, 12]);
        assert!(sub.get(2).is_err());
        assert!(sub.get_batch(&[5]).is_err());
        assert!(Subset::new(ds.clone(), vec![4]).is_err());

        let cat = ConcatDataset::new(vec![
            ds.clone(),
            Subset::new(ds.clone(), vec![]).unwrap().dataset().clone(),
            ds.clone(),
        ]);
        assert_eq!(cat.len(), 12);
        assert_eq!(cat.get(5).unwrap().1.item(), 11);
        assert_eq!(cat.get(11).unwrap().1.item(), 13);
        assert!(matches!(
            cat.get(12),
            Err(DataError::IndexOutOfRange {
                index: 12,
                len: 12,
                ..
            })
        ));
        assert_eq!(cat.get_batch(&[4, 6]).unwrap().1.to_vec(), vec![10, 12]);
        assert_eq!(
            cat.get_batch(&[3, 4, 11]).unwrap().1.to_vec(),
            vec![13, 10, 13]
        );
        let with_empty = ConcatDataset::new(vec![
            Subset::new(ds.clone(), vec![]).unwrap(),
            Subset::new(ds.clone(), vec![1]).unwrap(),
        ]);
        assert_eq!(with_empty.get(0).unwrap().1.item(), 11);
        let none: ConcatDataset<TensorDataset<Tensor<f32>>> = ConcatDataset::new(vec![]);
        assert!(none.is_empty() && none.get(0).is_err());
    }

    #[test]
    fn pointers_and_map_forward() {
        let ds = Arc::new(xy());
        assert_eq!(ds.get_batch(&[1]).unwrap().1.to_vec(), vec![11]);
        let r = &*ds;
        assert_eq!(Dataset::len(&r), 4);
        let boxed: Box<dyn Dataset<Item = (Tensor<f32>, Tensor<i64>)>> = Box::new(xy());
        assert_eq!(boxed.get(0).unwrap().1.item(), 10);
        let m = xy().map(|(x, y)| Ok((x.to_vec().iter().sum::<f32>(), y.item())));
        assert_eq!(m.get(1).unwrap(), (5.0, 11));
        assert_eq!(m.get_batch(&[0, 1]).unwrap().0.to_vec(), vec![1.0, 5.0]);
        assert!(m.get(7).is_err());
    }

    #[test]
    fn fraction_lengths_follow_pytorch() {
        // floor(10 * 0.33) = 3 each, remainder 1 goes to the first part.
        assert_eq!(
            Lengths::from([0.34, 0.33, 0.33]).resolve(10).unwrap(),
            vec![4, 3, 3]
        );
        // floor(7 * 0.5) = 3 twice, remainder 1 to the first.
        assert_eq!(Lengths::from([0.5, 0.5]).resolve(7).unwrap(), vec![4, 3]);
        // Remainder 2 among 3 parts: one each to parts 0 and 1.
        assert_eq!(
            Lengths::from([0.2, 0.2, 0.6]).resolve(3).unwrap(),
            vec![1, 1, 1]
        );
        assert_eq!(
            Lengths::from(vec![0.1; 10]).resolve(5).unwrap(),
            vec![1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            Lengths::from([0.8, 0.2]).resolve(100).unwrap(),
            vec![80, 20]
        );
        assert_eq!(Lengths::from([1.0]).resolve(0).unwrap(), vec![0]);
        let e = Lengths::from([0.5, 0.4]).resolve(10).unwrap_err();
        assert!(matches!(e, DataError::SplitFractions { .. }), "{e}");
        assert!(e.to_string().contains("sum to 1"), "{e}");
        assert!(Lengths::from([1.5, -0.5]).resolve(10).is_err());
        assert!(Lengths::from(Vec::<f64>::new()).resolve(0).is_err());
        let e = Lengths::from([3usize, 4]).resolve(10).unwrap_err();
        assert!(
            matches!(
                e,
                DataError::SplitLengths {
                    sum: 7,
                    len: 10,
                    ..
                }
            ),
            "{e}"
        );
        assert!(Lengths::from([usize::MAX, 2]).resolve(10).is_err());
    }

    #[test]
    fn random_split_is_seeded_disjoint_and_complete() {
        let ds = TensorDataset::new(Tensor::from((0..10i64).collect::<Vec<_>>())).unwrap();
        let a = random_split(ds.clone(), [7usize, 3], &mut Generator::new(1)).unwrap();
        let b = random_split(ds.clone(), [7usize, 3], &mut Generator::new(1)).unwrap();
        assert_eq!(a[0].indices(), b[0].indices());
        let mut all: Vec<usize> = a.iter().flat_map(|s| s.indices().to_vec()).collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(a[1].get(0).unwrap().item() as usize, a[1].indices()[0]);
        assert!(random_split(ds, [5usize, 6], &mut Generator::new(1)).is_err());
    }
}
