//! 2-D convolution (cross-correlation, as PyTorch's `conv2d`) with stride, zero padding (the
//! two sides may differ, as `padding="same"` needs with an even kernel), dilation and groups:
//! the forward and the two gradients (input, weight) the backward needs.
//!
//! Each sample's windows are gathered (im2col, straight from the input's strided view) into a
//! `[C·kh·kw, OH·OW]` scratch matrix and multiplied by the weight through the crate's GEMM; the
//! gradient of the input multiplies the transposed weight by the output's gradient and adds the
//! columns back (col2im). A 1x1 kernel with stride 1 and no padding reads the input as the
//! matrix without gathering; a small inner dim (a first layer) runs as direct loops instead of
//! a GEMM (`small_k`). Both cores take the batch's samples one at a time (each GEMM is then
//! single-threaded), and the scratch matrices are per-thread buffers that grow to the largest
//! size seen and are reused by the next call: a training step allocates only its results.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{ArrayView2, ArrayViewMut2, Axis, Ix4};

use crate::buffer::try_with_capacity;
use crate::element::Float;
use crate::error::{ok, Result, TensorError};
use crate::matmul::gemm_views;
use crate::parallel::{join, num_threads};
use crate::tensor::Tensor;

mod small_k;
mod window;

use small_k::{axpy_rows, dot_rows, lane_dot, SMALL_K};
#[cfg(test)]
use small_k::{axpy_rows_on, dot_rows_on, Isa};
#[cfg(test)]
use window::{add_short, copy_short};
use window::{col2im, im2col};

/// The options of a 2-D convolution, as `torch.nn.functional.conv2d` takes them: `stride`,
/// `padding` (zeros added before the first row and column), `dilation` (the step between the
/// kernel's taps) and `groups` (input and output channels split into that many independent
/// convolutions). `padding_end` is the zero padding after the last row and column: PyTorch's
/// symmetric `padding` sets both; `padding="same"` with an even kernel pads one more at the end.
///
/// ```
/// use antorcha_tensor::Conv2dOptions;
/// let o = Conv2dOptions::new().stride([2, 2]).padding([1, 1]).groups(2);
/// assert_eq!((o.stride, o.padding, o.padding_end, o.dilation, o.groups), ([2, 2], [1, 1], [1, 1], [1, 1], 2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conv2dOptions {
    /// The step between windows along height and width (default 1).
    pub stride: [usize; 2],
    /// Zeros before the first row and the first column (default 0).
    pub padding: [usize; 2],
    /// Zeros after the last row and the last column (default 0).
    pub padding_end: [usize; 2],
    /// The step between the taps of the kernel (default 1).
    pub dilation: [usize; 2],
    /// The number of channel groups (default 1).
    pub groups: usize,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: [1, 1],
            padding: [0, 0],
            padding_end: [0, 0],
            dilation: [1, 1],
            groups: 1,
        }
    }
}

impl Conv2dOptions {
    /// Stride 1, no padding, dilation 1, one group.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the stride.
    pub fn stride(mut self, stride: [usize; 2]) -> Self {
        self.stride = stride;
        self
    }

    /// Sets the same zero padding on both sides of each dim, like PyTorch's `padding=(ph, pw)`.
    pub fn padding(mut self, padding: [usize; 2]) -> Self {
        self.padding = padding;
        self.padding_end = padding;
        self
    }

    /// Sets the zero padding before (`begin`, top and left) and after (`end`, bottom and
    /// right) separately.
    pub fn padding_asymmetric(mut self, begin: [usize; 2], end: [usize; 2]) -> Self {
        self.padding = begin;
        self.padding_end = end;
        self
    }

    /// Sets the dilation.
    pub fn dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation = dilation;
        self
    }

    /// Sets the number of groups.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
}

/// The checked sizes of one convolution.
#[derive(Debug, Clone, Copy)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
    groups: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    dh: usize,
    dw: usize,
}

impl Geom {
    /// Output positions per channel.
    fn l(&self) -> usize {
        self.oh * self.ow
    }
    /// Rows of one group's window matrix: `C/groups · kh · kw`.
    fn k(&self) -> usize {
        self.c / self.groups * self.kh * self.kw
    }
    /// Rows of a sample's window matrix over all groups: `C · kh · kw`.
    fn rows(&self) -> usize {
        self.c * self.kh * self.kw
    }
    fn og(&self) -> usize {
        self.o / self.groups
    }
    /// A 1x1 kernel read straight from a contiguous input: no gathering needed.
    fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.sh == 1
            && self.sw == 1
            && self.ph == 0
            && self.pw == 0
            && self.oh == self.h
            && self.ow == self.w
    }
    /// Multiply-adds of the forward (saturating: only compared with a threshold).
    fn macs(&self) -> usize {
        [self.o, self.k(), self.l()]
            .iter()
            .fold(self.n, |a, &b| a.saturating_mul(b))
    }
}

/// Checks the input and weight shapes and the options; every size is computed with checked
/// arithmetic, so a huge padding or dilation is an error, never a wrapped size.
fn geometry<T>(op: &'static str, x: &[usize], wt: &[usize], opt: &Conv2dOptions) -> Result<Geom> {
    let bad = |reason: String| TensorError::shapes(op, x, wt, reason);
    if x.len() != 4 {
        return Err(bad(format!(
            "expected a 4-D input [N, C, H, W], got {}-D",
            x.len()
        )));
    }
    if wt.len() != 4 {
        return Err(bad(format!(
            "expected a 4-D weight [out_channels, in_channels/groups, kH, kW], got {}-D",
            wt.len()
        )));
    }
    let inv = |m: String| TensorError::invalid(op, m);
    let g = opt.groups;
    if g == 0 {
        return Err(inv("non-positive groups is not supported".into()));
    }
    if opt.stride.contains(&0) {
        return Err(inv(format!(
            "non-positive stride is not supported, got stride {:?}",
            opt.stride
        )));
    }
    if opt.dilation.contains(&0) {
        return Err(inv(format!(
            "dilation should be greater than zero, got dilation {:?}",
            opt.dilation
        )));
    }
    let (n, c, h, w) = (x[0], x[1], x[2], x[3]);
    let (o, ci, kh, kw) = (wt[0], wt[1], wt[2], wt[3]);
    if o % g != 0 {
        return Err(bad(format!(
            "Given groups={g}, expected weight to be divisible by {g} at dimension 0, but got weight of size {wt:?} instead"
        )));
    }
    if ci.checked_mul(g) != Some(c) {
        return Err(bad(format!(
            "Given groups={g}, weight of size {wt:?}, expected input{x:?} to have {} channels, but got {c} channels instead",
            ci.saturating_mul(g)
        )));
    }
    if kh == 0 || kw == 0 {
        return Err(bad("the kernel size must be positive".into()));
    }
    let padded = |n: usize, a: usize, b: usize| n.checked_add(a)?.checked_add(b);
    let span = |k: usize, d: usize| (k - 1).checked_mul(d)?.checked_add(1);
    let (Some(hp), Some(wp)) = (
        padded(h, opt.padding[0], opt.padding_end[0]),
        padded(w, opt.padding[1], opt.padding_end[1]),
    ) else {
        return Err(inv(format!(
            "padding {:?} (end {:?}) on an input of {h} x {w} overflows the padded size",
            opt.padding, opt.padding_end
        )));
    };
    let (Some(eh), Some(ew)) = (span(kh, opt.dilation[0]), span(kw, opt.dilation[1])) else {
        return Err(inv(format!(
            "dilation {:?} times the kernel size ({kh} x {kw}) overflows",
            opt.dilation
        )));
    };
    if hp < eh || wp < ew {
        return Err(bad(format!(
            "Calculated padded input size per channel: ({hp} x {wp}). Kernel size: ({eh} x {ew}). Kernel size can't be greater than actual input size"
        )));
    }
    let geom = Geom {
        n,
        c,
        h,
        w,
        o,
        kh,
        kw,
        oh: (hp - eh) / opt.stride[0] + 1,
        ow: (wp - ew) / opt.stride[1] + 1,
        groups: g,
        sh: opt.stride[0],
        sw: opt.stride[1],
        ph: opt.padding[0],
        pw: opt.padding[1],
        dh: opt.dilation[0],
        dw: opt.dilation[1],
    };
    // Every buffer's length in bytes must fit an isize: the output, the window matrix of a
    // sample, and the weight.
    let limit = isize::MAX as usize / std::mem::size_of::<T>().max(1);
    let prod = |v: &[usize]| {
        v.iter()
            .try_fold(1usize, |a, &b| a.checked_mul(b))
            .filter(|&p| p <= limit)
    };
    if prod(&[n, o, geom.oh, geom.ow]).is_none()
        || prod(&[c, kh, kw, geom.oh, geom.ow]).is_none()
        || prod(&[o, ci, kh, kw]).is_none()
    {
        return Err(bad(format!(
            "an output of {} x {} positions with a {kh} x {kw} kernel is too large",
            geom.oh, geom.ow
        )));
    }
    Ok(geom)
}

/// Runs `f` on a scratch slice of `len` elements from this thread's buffer (grown as needed,
/// never shrunk); its contents are whatever the last user left. A buffer already in use (or a
/// type other than `f32`/`f64`) gets a fresh one.
fn with_scratch<T: Float, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> Result<R> {
    thread_local! {
        static F32: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
        static F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    }
    fn grow<T: Float>(v: &mut Vec<T>, len: usize) -> Result<()> {
        if v.len() < len {
            v.try_reserve_exact(len - v.len()).map_err(|_| {
                TensorError::invalid(
                    "conv2d",
                    format!("cannot allocate a scratch buffer of {len} elements"),
                )
            })?;
            v.resize(len, T::zero());
        }
        Ok(())
    }
    fn run<T: Float, U: Float, R>(
        cell: &RefCell<Vec<U>>,
        len: usize,
        f: impl FnOnce(&mut [T]) -> R,
    ) -> Result<R> {
        match cell.try_borrow_mut() {
            Ok(mut v) => {
                let v = (&mut *v as &mut dyn Any)
                    .downcast_mut::<Vec<T>>()
                    .expect("the buffer of T");
                grow(v, len)?;
                Ok(f(&mut v[..len]))
            }
            Err(_) => fresh(len, f),
        }
    }
    fn fresh<T: Float, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> Result<R> {
        let mut v = Vec::new();
        grow(&mut v, len)?;
        Ok(f(&mut v))
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        F32.with(|cell| run(cell, len, f))
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        F64.with(|cell| run(cell, len, f))
    } else {
        fresh(len, f)
    }
}

/// `[rows, cols]` row-major over a slice.
fn mat<T>(s: &[T], rows: usize, cols: usize) -> ArrayView2<'_, T> {
    ArrayView2::from_shape((rows, cols), s).expect("the slice holds the matrix")
}

fn mat_mut<T>(s: &mut [T], rows: usize, cols: usize) -> ArrayViewMut2<'_, T> {
    ArrayViewMut2::from_shape((rows, cols), s).expect("the slice holds the matrix")
}

/// Initialises each row of `row_len` elements of `s` with `f(row)` and returns it as
/// initialised.
fn init_rows<T: Copy>(
    s: &mut [MaybeUninit<T>],
    row_len: usize,
    f: impl Fn(usize) -> T,
) -> &mut [T] {
    if row_len > 0 {
        for (r, row) in s.chunks_exact_mut(row_len).enumerate() {
            let v = f(r);
            for e in row {
                e.write(v);
            }
        }
    }
    // SAFETY: every element was just written (the length is a multiple of `row_len`);
    // MaybeUninit<T> has T's layout.
    unsafe { &mut *(s as *mut [MaybeUninit<T>] as *mut [T]) }
}

/// Hands out the items of a batch (samples, or chunks of samples) one at a time to whichever
/// thread asks next, each with its own `per`-element slice of the output: both cores pull from
/// one counter, so a thread the OS deschedules holds up at most the item it is on (two fixed
/// halves would wait for the slower half on a busy machine).
struct Items<'a, U> {
    next: AtomicUsize,
    n: usize,
    per: usize,
    base: *mut U,
    _out: PhantomData<&'a mut [U]>,
}

// SAFETY: each index is handed out once (the atomic counter), so the slices given to the
// threads are disjoint parts of the `&mut` output borrowed for `'a`.
unsafe impl<U: Send> Sync for Items<'_, U> {}

impl<'a, U> Items<'a, U> {
    fn new(n: usize, per: usize, out: &'a mut [U]) -> Self {
        assert!(out.len() >= n * per, "the output holds every item");
        Items {
            next: AtomicUsize::new(0),
            n,
            per,
            base: out.as_mut_ptr(),
            _out: PhantomData,
        }
    }

    /// The next unclaimed item and its slice of the output, or `None` when all are taken.
    fn next(&self) -> Option<(usize, &'a mut [U])> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `i < n` is claimed by this call alone; the slice lies inside the output.
        (i < self.n).then(|| unsafe {
            (
                i,
                std::slice::from_raw_parts_mut(self.base.add(i * self.per), self.per),
            )
        })
    }
}

/// Runs `f` over the `n` items of `out` (`per` elements each): on both cores, both pulling
/// items from one [`Items`], when the work is worth it, else once on this thread. Returns
/// each run's result.
fn split_batch<U: Send, R: Send>(
    n: usize,
    per: usize,
    big: bool,
    out: &mut [U],
    f: impl Fn(&Items<'_, U>) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let items = Items::new(n, per, out);
    if n >= 2 && big && num_threads() >= 2 {
        let (mut ra, mut rb) = (None, None);
        join(|| ra = Some(f(&items)), || rb = Some(f(&items)));
        Ok(vec![ra.expect("ran")?, rb.expect("ran")?])
    } else {
        Ok(vec![f(&items)?])
    }
}

/// Samples whose weight gradients are summed into one partial sum (the partial sums are then
/// added in order, so the result does not depend on the thread count or the scheduling).
const WEIGHT_CHUNK: usize = 8;

/// Work below this many multiply-adds stays on one thread (the split costs a wake-up).
const PAR_MIN_MACS: usize = 1 << 20;

impl<T: Float> Tensor<T> {
    /// A 2-D convolution of `self` (`[N, C, H, W]`) with `weight` (`[O, C/groups, kH, kW]`)
    /// plus an optional `bias` (`[O]`), like `torch.nn.functional.conv2d(input, weight, bias,
    /// stride, padding, dilation, groups)`: `[N, O, OH, OW]` with `OH = (H + pad_top +
    /// pad_bottom - dilation·(kH - 1) - 1) / stride + 1` (and likewise `OW`).
    ///
    /// ```
    /// use antorcha_tensor::{Conv2dOptions, Tensor};
    /// let x = Tensor::<f64>::ones(&[1, 1, 3, 3]);
    /// let w = Tensor::ones(&[1, 1, 2, 2]);
    /// let y = x.conv2d(&w, None, &Conv2dOptions::new().padding([1, 1]));
    /// assert_eq!(y.shape(), &[1, 1, 4, 4]);
    /// assert_eq!(y.to_vec()[..5], [1.0, 2.0, 2.0, 1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// When [`Tensor::try_conv2d`] returns an error.
    #[track_caller]
    pub fn conv2d(
        &self,
        weight: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        options: &Conv2dOptions,
    ) -> Tensor<T> {
        ok(self.try_conv2d(weight, bias, options))
    }

    /// `conv2d`, or an error naming the shapes (channels that do not fit the weight and
    /// groups, a kernel larger than the padded input, a bias that is not `[O]`) or the option
    /// (zero stride, dilation or groups, a padding whose padded size overflows).
    pub fn try_conv2d(
        &self,
        weight: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        options: &Conv2dOptions,
    ) -> Result<Tensor<T>> {
        const OP: &str = "conv2d";
        let g = geometry::<T>(OP, self.shape(), weight.shape(), options)?;
        if let Some(b) = bias {
            if b.shape() != [g.o] {
                return Err(TensorError::shapes(
                    OP,
                    self.shape(),
                    weight.shape(),
                    format!("the bias must have shape [{}], got {:?}", g.o, b.shape()),
                ));
            }
        }
        let (l, og, k) = (g.l(), g.og(), g.k());
        let per = g.o * l;
        let total = g.n * per;
        let mut out: Vec<T> = try_with_capacity(total).ok_or_else(|| {
            TensorError::invalid(OP, format!("cannot allocate an output of {total} elements"))
        })?;
        let bias = bias.map(|b| b.row_major().into_owned());
        let wts = weight.row_major();
        let x = self.view().into_dimensionality::<Ix4>().expect("4-D");
        let pointwise = g.is_pointwise() && self.is_contiguous();
        let beta = if bias.is_some() { T::one() } else { T::zero() };
        let spare = &mut out.spare_capacity_mut()[..total];
        split_batch(g.n, per, g.macs() >= PAR_MIN_MACS, spare, |items| {
            let run = |col: &[T], dst: &mut [T]| {
                for gi in 0..g.groups {
                    let (wg, cg) = (
                        &wts[gi * og * k..(gi + 1) * og * k],
                        &col[gi * k * l..(gi + 1) * k * l],
                    );
                    let dg = &mut dst[gi * og * l..(gi + 1) * og * l];
                    if k < SMALL_K {
                        axpy_rows(wg, cg, dg, (og, k, l));
                    } else {
                        gemm_views(
                            &mat(wg, og, k),
                            &mat(cg, k, l),
                            beta,
                            &mut mat_mut(dg, og, l),
                        );
                    }
                }
            };
            let scratch = if pointwise { 0 } else { g.rows() * l };
            with_scratch(scratch, |col: &mut [T]| {
                while let Some((i, part)) = items.next() {
                    let dst = init_rows(part, l, |o| bias.as_ref().map_or(T::zero(), |b| b[o]));
                    let xi = x.index_axis(Axis(0), i);
                    match xi.as_slice() {
                        Some(xs) if pointwise => run(xs, dst),
                        _ => {
                            im2col(&xi, &g, col);
                            run(col, dst);
                        }
                    }
                }
            })
        })?;
        // SAFETY: `split_batch` returned Ok, so every sample's slice was initialised.
        unsafe { out.set_len(total) };
        Tensor::try_from_vec(out, &[g.n, g.o, g.oh, g.ow])
    }

    /// The gradients of [`Tensor::conv2d`] from the output's gradient `grad_output`
    /// (`[N, O, OH, OW]`): with `input` and `weight` as in the forward, returns the gradients
    /// of the input, the weight and the bias, each only where `needs` asks for it (like
    /// PyTorch's `convolution_backward(grad_output, input, weight, bias_sizes, stride,
    /// padding, dilation, transposed=False, output_padding, groups, output_mask)`).
    ///
    /// ```
    /// use antorcha_tensor::{Conv2dOptions, Tensor};
    /// let x = Tensor::<f64>::ones(&[1, 1, 3, 3]);
    /// let w = Tensor::ones(&[1, 1, 2, 2]);
    /// let g = Tensor::ones(&[1, 1, 2, 2]);
    /// let (dx, dw, db) = Tensor::conv2d_backward(&g, &x, &w, &Conv2dOptions::new(), [true; 3]).unwrap();
    /// assert_eq!(dx.unwrap().to_vec(), vec![1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
    /// assert_eq!(dw.unwrap().to_vec(), vec![4.0; 4]);
    /// assert_eq!(db.unwrap().to_vec(), vec![4.0]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn conv2d_backward(
        grad_output: &Tensor<T>,
        input: &Tensor<T>,
        weight: &Tensor<T>,
        options: &Conv2dOptions,
        needs: [bool; 3],
    ) -> Result<(Option<Tensor<T>>, Option<Tensor<T>>, Option<Tensor<T>>)> {
        let g = geometry::<T>("conv2d_backward", input.shape(), weight.shape(), options)?;
        check_grad("conv2d_backward", &g, grad_output, input.shape())?;
        let gx = if needs[0] {
            Some(grad_input(&g, grad_output, weight)?)
        } else {
            None
        };
        let (gw, gb) = grad_params(&g, input, grad_output, [needs[1], needs[2]])?;
        let gw = gw
            .map(|dw| Tensor::try_from_vec(dw, weight.shape()))
            .transpose()?;
        let gb = gb.map(|db| Tensor::from_vec(db, &[g.o]));
        Ok((gx, gw, gb))
    }

    /// The gradient of [`Tensor::conv2d`] with respect to its input, from the output's
    /// gradient `self` (`[N, O, OH, OW]`) and the weight: a transposed convolution whose
    /// output has `input_shape` (PyTorch's `convolution_backward` with only the input's mask).
    pub fn try_conv2d_grad_input(
        &self,
        weight: &Tensor<T>,
        input_shape: &[usize],
        options: &Conv2dOptions,
    ) -> Result<Tensor<T>> {
        let g = geometry::<T>("conv2d_grad_input", input_shape, weight.shape(), options)?;
        check_grad("conv2d_grad_input", &g, self, input_shape)?;
        grad_input(&g, self, weight)
    }

    /// The gradient of [`Tensor::conv2d`] with respect to its weight (of `weight_shape`),
    /// from the output's gradient `self` and the input.
    pub fn try_conv2d_grad_weight(
        &self,
        input: &Tensor<T>,
        weight_shape: &[usize],
        options: &Conv2dOptions,
    ) -> Result<Tensor<T>> {
        let g = geometry::<T>("conv2d_grad_weight", input.shape(), weight_shape, options)?;
        check_grad("conv2d_grad_weight", &g, self, input.shape())?;
        let (dw, _) = grad_params(&g, input, self, [true, false])?;
        Tensor::try_from_vec(dw.unwrap_or_default(), weight_shape)
    }
}

/// Checks that the output's gradient has the forward's output shape.
fn check_grad<T: Float>(
    op: &'static str,
    g: &Geom,
    grad: &Tensor<T>,
    input: &[usize],
) -> Result<()> {
    let want = [g.n, g.o, g.oh, g.ow];
    if grad.shape() != want {
        return Err(TensorError::shapes(
            op,
            grad.shape(),
            input,
            format!("the output's gradient must have the output's shape {want:?}"),
        ));
    }
    Ok(())
}

/// `dx_n = col2im(Wᵀ · g_n)` for each sample.
fn grad_input<T: Float>(g: &Geom, grad: &Tensor<T>, weight: &Tensor<T>) -> Result<Tensor<T>> {
    let (l, og, k) = (g.l(), g.og(), g.k());
    let plane = g.c * g.h * g.w;
    let total = g.n * plane;
    let mut dx: Vec<T> = try_with_capacity(total).ok_or_else(|| {
        TensorError::invalid(
            "conv2d_backward",
            format!("cannot allocate an input gradient of {total} elements"),
        )
    })?;
    let gs = grad.row_major();
    let wts = weight.row_major();
    let pointwise = g.is_pointwise();
    let spare = &mut dx.spare_capacity_mut()[..total];
    split_batch(g.n, plane, g.macs() >= PAR_MIN_MACS, spare, |items| {
        let scratch = if pointwise { 0 } else { g.rows() * l };
        with_scratch(scratch, |col: &mut [T]| {
            while let Some((i, part)) = items.next() {
                let dst = init_rows(part, plane, |_| T::zero());
                let gi_all = &gs[i * g.o * l..(i + 1) * g.o * l];
                for gi in 0..g.groups {
                    let a = mat(&wts[gi * og * k..(gi + 1) * og * k], og, k).reversed_axes();
                    let b = mat(&gi_all[gi * og * l..(gi + 1) * og * l], og, l);
                    let target = if pointwise {
                        &mut dst[gi * k * l..(gi + 1) * k * l]
                    } else {
                        &mut col[gi * k * l..(gi + 1) * k * l]
                    };
                    gemm_views(&a, &b, T::zero(), &mut mat_mut(target, k, l));
                }
                if !pointwise {
                    col2im(col, g, dst);
                }
            }
        })
    })?;
    // SAFETY: `split_batch` returned Ok, so every sample's slice was initialised.
    unsafe { dx.set_len(total) };
    Tensor::try_from_vec(dx, &[g.n, g.c, g.h, g.w])
}

/// The weight's and the bias's gradients, each where `needs` asks: `dW = Σ_n g_n · col_nᵀ`
/// and `db[o] = Σ_{n, y, x} g[n, o, y, x]`, summed per chunk of samples on both cores (each
/// sample's gradient read while it is in cache), then the chunks in order.
#[allow(clippy::type_complexity)]
fn grad_params<T: Float>(
    g: &Geom,
    input: &Tensor<T>,
    grad: &Tensor<T>,
    [need_w, need_b]: [bool; 2],
) -> Result<(Option<Vec<T>>, Option<Vec<T>>)> {
    let (l, og, k) = (g.l(), g.og(), g.k());
    let w_size = if need_w { g.o * k } else { 0 };
    let size = w_size + if need_b { g.o } else { 0 };
    let gs = grad.row_major();
    let x = input.view().into_dimensionality::<Ix4>().expect("4-D");
    let pointwise = g.is_pointwise() && input.is_contiguous();
    // One partial sum per chunk of samples, filled by whichever thread takes the chunk.
    let chunks = g.n.div_ceil(WEIGHT_CHUNK);
    let mut partials: Vec<T> = Vec::new();
    partials.try_reserve_exact(chunks * size).map_err(|_| {
        TensorError::invalid("conv2d_backward", "cannot allocate the weight gradient")
    })?;
    partials.resize(chunks * size, T::zero());
    let ones = vec![T::one(); if need_b { l } else { 0 }];
    let work = if need_w { g.macs() } else { 0 };
    split_batch(chunks, size, work >= PAR_MIN_MACS, &mut partials, |items| {
        let scratch = if pointwise || !need_w {
            0
        } else {
            g.rows() * l
        };
        with_scratch(scratch, |col: &mut [T]| {
            while let Some((chunk, part)) = items.next() {
                let (dw, db) = part.split_at_mut(w_size);
                let end = ((chunk + 1) * WEIGHT_CHUNK).min(g.n);
                for i in chunk * WEIGHT_CHUNK..end {
                    let gi_all = &gs[i * g.o * l..(i + 1) * g.o * l];
                    if need_b && l > 0 {
                        for (d, row) in db.iter_mut().zip(gi_all.chunks_exact(l)) {
                            *d += lane_dot(row, &ones);
                        }
                    }
                    if !need_w {
                        continue;
                    }
                    let xi = x.index_axis(Axis(0), i);
                    let xs = match xi.as_slice() {
                        Some(xs) if pointwise => xs,
                        _ => {
                            im2col(&xi, g, col);
                            &col[..]
                        }
                    };
                    for gi in 0..g.groups {
                        let a = &gi_all[gi * og * l..(gi + 1) * og * l];
                        let b = &xs[gi * k * l..(gi + 1) * k * l];
                        let c = &mut dw[gi * og * k..(gi + 1) * og * k];
                        if k < SMALL_K {
                            dot_rows(a, b, c, (og, k, l));
                        } else {
                            let bt = mat(b, k, l).reversed_axes();
                            gemm_views(&mat(a, og, l), &bt, T::one(), &mut mat_mut(c, og, k));
                        }
                    }
                }
            }
        })
    })?;
    let mut sum = partials[..size.min(partials.len())].to_vec();
    sum.resize(size, T::zero());
    for p in partials.chunks_exact(size.max(1)).skip(1) {
        for (a, &b) in sum.iter_mut().zip(p) {
            *a += b;
        }
    }
    let db = need_b.then(|| sum.split_off(w_size));
    Ok((need_w.then_some(sum), db))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn noise(shape: &[usize], seed: u64) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let data = (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
            })
            .collect();
        Tensor::from_vec(data, shape)
    }

    /// The definition, as direct loops: `y[n, o, y, x] = b[o] + Σ x[n, c, r, s] · w[o, c', i, j]`.
    fn naive(
        x: &Tensor<f64>,
        w: &Tensor<f64>,
        b: Option<&Tensor<f64>>,
        o: &Conv2dOptions,
    ) -> Tensor<f64> {
        let g = geometry::<f64>("t", x.shape(), w.shape(), o).unwrap();
        let (xv, wv) = (x.view(), w.view());
        let (cg, og) = (g.c / g.groups, g.og());
        let mut out = vec![0.0; g.n * g.o * g.l()];
        for n in 0..g.n {
            for oc in 0..g.o {
                let grp = oc / og;
                for y in 0..g.oh {
                    for xx in 0..g.ow {
                        let mut acc = b.map_or(0.0, |b| b.to_vec()[oc]);
                        for ci in 0..cg {
                            for i in 0..g.kh {
                                for j in 0..g.kw {
                                    let r = (y * g.sh + i * g.dh) as isize - g.ph as isize;
                                    let s = (xx * g.sw + j * g.dw) as isize - g.pw as isize;
                                    if r >= 0 && s >= 0 && (r as usize) < g.h && (s as usize) < g.w
                                    {
                                        acc += xv[[n, grp * cg + ci, r as usize, s as usize]]
                                            * wv[[oc, ci, i, j]];
                                    }
                                }
                            }
                        }
                        out[((n * g.o + oc) * g.oh + y) * g.ow + xx] = acc;
                    }
                }
            }
        }
        Tensor::from_vec(out, &[g.n, g.o, g.oh, g.ow])
    }

    fn close(a: &Tensor<f64>, b: &Tensor<f64>) {
        assert_eq!(a.shape(), b.shape());
        for (x, y) in a.to_vec().iter().zip(b.to_vec()) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
    }

    fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
        a.to_vec().iter().zip(b.to_vec()).map(|(x, y)| x * y).sum()
    }

    fn cases() -> Vec<([usize; 4], [usize; 4], Conv2dOptions)> {
        let o = Conv2dOptions::new;
        vec![
            ([2, 3, 5, 6], [4, 3, 3, 2], o()),
            (
                [1, 2, 7, 5],
                [3, 2, 3, 3],
                o().stride([2, 1]).padding([1, 2]),
            ),
            (
                [3, 1, 4, 4],
                [2, 1, 4, 4],
                o().stride([3, 3]).padding([1, 1]),
            ),
            (
                [2, 4, 8, 7],
                [6, 2, 3, 2],
                o().groups(2).dilation([2, 3]).padding([2, 1]),
            ),
            (
                [2, 4, 5, 5],
                [4, 1, 2, 2],
                o().groups(4).padding_asymmetric([0, 1], [1, 0]),
            ),
            ([3, 6, 4, 3], [4, 3, 1, 1], o().groups(2)),
            ([2, 3, 4, 3], [5, 3, 1, 1], o()),
            ([1, 1, 1, 1], [1, 1, 1, 1], o()),
            // Output rows shorter than a block of eight, few of them.
            ([2, 2, 3, 3], [3, 2, 2, 2], o()),
            ([1, 1, 4, 3], [2, 1, 2, 1], o()),
            // Padding rows after the last spilled one.
            ([1, 1, 2, 5], [1, 1, 1, 3], o().padding([1, 0])),
            // Taps that see only padding (no valid column) in rows that do exist.
            (
                [1, 1, 3, 1],
                [1, 1, 1, 3],
                o().dilation([1, 2]).padding([0, 2]),
            ),
            (
                [5, 1, 9, 9],
                [3, 1, 3, 3],
                o().stride([2, 2]).dilation([2, 2]),
            ),
        ]
    }

    #[test]
    fn forward_matches_direct_loops_and_thread_counts() {
        let before = crate::num_threads();
        for (i, (xs, ws, opt)) in cases().into_iter().enumerate() {
            let x = noise(&xs, 3 * i as u64 + 1);
            let w = noise(&ws, 3 * i as u64 + 2);
            let b = noise(&[ws[0]], 3 * i as u64 + 3);
            let want = naive(&x, &w, Some(&b), &opt);
            crate::set_num_threads(1);
            close(&x.conv2d(&w, Some(&b), &opt), &want);
            close(&x.conv2d(&w, None, &opt), &naive(&x, &w, None, &opt));
            crate::set_num_threads(2);
            close(&x.conv2d(&w, Some(&b), &opt), &want);
            // A strided (transposed) input view gives the same numbers.
            let xt = x.transpose(2, 3).contiguous().transpose(2, 3);
            assert!(!xt.is_contiguous() || xs[2] == 1 || xs[3] == 1);
            close(&xt.conv2d(&w, Some(&b), &opt), &want);
        }
        crate::set_num_threads(before);
    }

    #[test]
    fn gradients_are_the_adjoints_of_the_forward() {
        // <conv(x, w), g> = <x, grad_input(g, w)> = <w, grad_weight(x, g)>; Σ g = grad_bias.
        for (i, (xs, ws, opt)) in cases().into_iter().enumerate() {
            let x = noise(&xs, 7 * i as u64 + 1);
            let w = noise(&ws, 7 * i as u64 + 2);
            let y = x.conv2d(&w, None, &opt);
            let g = noise(y.shape(), 7 * i as u64 + 3);
            let (dx, dw, db) = Tensor::conv2d_backward(&g, &x, &w, &opt, [true; 3]).unwrap();
            let (dx, dw, db) = (dx.unwrap(), dw.unwrap(), db.unwrap());
            let lhs = dot(&y, &g);
            assert!((lhs - dot(&x, &dx)).abs() < 1e-10, "case {i}");
            assert!((lhs - dot(&w, &dw)).abs() < 1e-10, "case {i}");
            let gsum: f64 = g.to_vec().iter().sum();
            assert!((db.to_vec().iter().sum::<f64>() - gsum).abs() < 1e-10);
            close(&g.try_conv2d_grad_input(&w, &xs, &opt).unwrap(), &dx);
            close(&g.try_conv2d_grad_weight(&x, &ws, &opt).unwrap(), &dw);
            // Each element of dx is the derivative of <conv(x, w), g> along that element
            // (linear in x: one basis vector at a time is exact).
            if x.numel() <= 64 {
                for e in 0..x.numel() {
                    let mut basis = vec![0.0; x.numel()];
                    basis[e] = 1.0;
                    let ye = Tensor::from_vec(basis, &xs).conv2d(&w, None, &opt);
                    assert!((dot(&ye, &g) - dx.to_vec()[e]).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn gradients_do_not_depend_on_the_thread_count() {
        let before = crate::num_threads();
        // W5's second layer on 20 samples: enough work to split, chunks of uneven count.
        let opt = Conv2dOptions::new();
        let x = noise(&[20, 32, 13, 13], 1).cast::<f32>();
        let w = noise(&[64, 32, 3, 3], 2).cast::<f32>();
        let g = noise(&[20, 64, 11, 11], 3).cast::<f32>();
        let run = |threads| {
            crate::set_num_threads(threads);
            let y = x.conv2d(&w, None, &opt);
            let (dx, dw, db) = Tensor::conv2d_backward(&g, &x, &w, &opt, [true; 3]).unwrap();
            (y, dx.unwrap(), dw.unwrap(), db.unwrap())
        };
        let one = run(1);
        for _ in 0..3 {
            assert!(run(2) == one);
        }
        crate::set_num_threads(before);
    }

    /// The instruction sets of the small-`k` kernels this CPU runs.
    fn isas() -> Vec<Isa> {
        #[allow(unused_mut)]
        let mut v = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx2") && has!("fma") {
                v.push(Isa::Avx2);
            }
            if has!("avx512f") && has!("avx2") && has!("fma") {
                v.push(Isa::Avx512);
            }
        }
        v
    }

    /// Asserts `got` is `want` within `tol` times `scale` (the sum of the magnitudes of the
    /// terms), element by element.
    fn near(got: &[f64], want: &[(f64, f64)], tol: f64, what: &str) {
        assert_eq!(got.len(), want.len());
        for (e, (&x, &(y, scale))) in got.iter().zip(want).enumerate() {
            assert!((x - y).abs() <= tol * scale, "{what} [{e}]: {x} vs {y}");
        }
    }

    #[test]
    fn small_k_kernels_match_triple_loops() {
        // Sizes off every tile: m not a multiple of the channel tiles (3, 4, 6), n not a
        // multiple of the vectors (2 to 16 lanes, tiles of up to 64 positions), and exactly one.
        let sizes = [(1, 1), (5, 3), (7, 37), (4, 64), (13, 67), (32, 131)];
        for isa in isas() {
            for k in 1..SMALL_K {
                for (s, &(m, n)) in sizes.iter().enumerate() {
                    let seed = 100 * k as u64 + 10 * s as u64;
                    let w = noise(&[m, k], seed + 1).to_vec();
                    let cols = noise(&[k, n], seed + 2).to_vec();
                    let y0 = noise(&[m, n], seed + 3).to_vec();
                    let g = noise(&[m, n], seed + 4).to_vec();
                    let dw0 = noise(&[m, k], seed + 5).to_vec();
                    // y0 + w · cols and dw0 + g · colsᵀ, with the sums of the terms' magnitudes.
                    let mut fwd = Vec::new();
                    for i in 0..m {
                        for j in 0..n {
                            let (mut v, mut scale) = (y0[i * n + j], y0[i * n + j].abs());
                            for p in 0..k {
                                v += w[i * k + p] * cols[p * n + j];
                                scale += (w[i * k + p] * cols[p * n + j]).abs();
                            }
                            fwd.push((v, scale));
                        }
                    }
                    let mut wgt = Vec::new();
                    for i in 0..m {
                        for p in 0..k {
                            let (mut v, mut scale) = (dw0[i * k + p], dw0[i * k + p].abs());
                            for j in 0..n {
                                v += g[i * n + j] * cols[p * n + j];
                                scale += (g[i * n + j] * cols[p * n + j]).abs();
                            }
                            wgt.push((v, scale));
                        }
                    }
                    let what = format!("{isa:?} m={m} k={k} n={n}");
                    let mut y = y0.clone();
                    axpy_rows_on(isa, &w, &cols, &mut y, (m, k, n));
                    near(&y, &fwd, 1e-12, &format!("axpy_rows {what}"));
                    let mut dw = dw0.clone();
                    dot_rows_on(isa, &g, &cols, &mut dw, (m, k, n));
                    near(&dw, &wgt, 1e-12, &format!("dot_rows {what}"));
                    // The f32 builds (twice the lanes) against the same sums.
                    let f = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
                    let back = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
                    let mut y = f(&y0);
                    axpy_rows_on(isa, &f(&w), &f(&cols), &mut y, (m, k, n));
                    near(&back(y), &fwd, 1e-5, &format!("axpy_rows f32 {what}"));
                    let mut dw = f(&dw0);
                    dot_rows_on(isa, &f(&g), &f(&cols), &mut dw, (m, k, n));
                    near(&back(dw), &wgt, 1e-5, &format!("dot_rows f32 {what}"));
                }
            }
        }
    }

    #[test]
    fn short_adds_add_every_length() {
        for n in 0..=40 {
            let src: Vec<f64> = (0..n).map(|i| i as f64).collect();
            let mut dst: Vec<f64> = (0..n).map(|i| 100.0 * i as f64).collect();
            add_short(&mut dst, &src);
            let want: Vec<f64> = (0..n).map(|i| 101.0 * i as f64).collect();
            assert_eq!(dst, want, "{n}");
        }
    }

    #[test]
    fn short_copies_copy_every_length() {
        for n in 0..=40 {
            let src: Vec<u32> = (0..n as u32).collect();
            let mut dst = vec![u32::MAX; n];
            copy_short(&mut dst, &src);
            assert_eq!(dst, src, "{n}");
        }
    }

    #[test]
    fn hostile_sizes_are_errors() {
        let x = Tensor::<f32>::zeros(&[1, 2, 5, 5]);
        let w = Tensor::<f32>::zeros(&[4, 2, 3, 3]);
        let opt = Conv2dOptions::new;
        let msg = |r: Result<Tensor<f32>>| r.unwrap_err().to_string();
        assert!(msg(x.try_conv2d(&w, None, &opt().padding([usize::MAX, 0]))).contains("overflows"));
        assert!(
            msg(x.try_conv2d(&w, None, &opt().padding_asymmetric([1, 1], [usize::MAX, 0])))
                .contains("overflows")
        );
        assert!(
            msg(x.try_conv2d(&w, None, &opt().dilation([usize::MAX, 1]))).contains("overflows")
        );
        assert!(msg(x.try_conv2d(&w, None, &opt().stride([0, 1]))).contains("non-positive stride"));
        assert!(msg(x.try_conv2d(&w, None, &opt().dilation([1, 0]))).contains("dilation"));
        assert!(msg(x.try_conv2d(&w, None, &opt().groups(0))).contains("groups"));
        assert!(msg(x.try_conv2d(&w, None, &opt().groups(3))).contains("divisible by 3"));
        let e = msg(x.try_conv2d(&w, None, &opt().groups(2)));
        assert!(
            e.contains("expected input[1, 2, 5, 5] to have 4 channels, but got 2 channels instead"),
            "{e}"
        );
        let e = msg(Tensor::zeros(&[1, 2, 2, 2]).try_conv2d(&w, None, &opt()));
        assert!(
            e.contains("Kernel size can't be greater than actual input size"),
            "{e}"
        );
        assert!(msg(x.try_conv2d(&w, Some(&Tensor::zeros(&[3])), &opt())).contains("bias"));
        assert!(x
            .try_conv2d(&Tensor::zeros(&[4, 2, 3]), None, &opt())
            .is_err());
        assert!(Tensor::<f32>::zeros(&[2, 5, 5])
            .try_conv2d(&w, None, &opt())
            .is_err());
        // Huge yet representable paddings: the output would not fit in memory.
        let e = msg(x.try_conv2d(&w, None, &opt().padding([1 << 40, 1 << 40])));
        assert!(e.contains("too large"), "{e}");
        let g = Tensor::<f32>::zeros(&[1, 4, 2, 2]);
        assert!(Tensor::conv2d_backward(&g, &x, &w, &opt(), [true; 3]).is_err());
        assert!(g.try_conv2d_grad_input(&w, &[1, 2, 4, 4], &opt()).is_ok());
        assert!(g.try_conv2d_grad_weight(&x, &[4, 2, 3, 3], &opt()).is_err());
    }

    #[test]
    fn empty_batches_and_channels() {
        let w = Tensor::<f64>::ones(&[2, 1, 2, 2]);
        let y = Tensor::<f64>::zeros(&[0, 1, 3, 3]).conv2d(&w, None, &Conv2dOptions::new());
        assert_eq!(y.shape(), &[0, 2, 2, 2]);
        let b = Tensor::from_vec(vec![1.0, 2.0], &[2]);
        let y = Tensor::<f64>::zeros(&[1, 0, 3, 3])
            .try_conv2d(
                &Tensor::zeros(&[2, 0, 2, 2]),
                Some(&b),
                &Conv2dOptions::new(),
            )
            .unwrap();
        assert_eq!(y.to_vec(), vec![1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]);
    }
}
