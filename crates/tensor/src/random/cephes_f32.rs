//! The single-precision `log` and `sincos` PyTorch's CPU `normal_` uses on `float` tensors of
//! 16 or more elements (Cephes polynomials, 8 lanes at a time, in ATen's AVX2 kernel), one lane
//! at a time here. The multiply-adds are fused where the compiled kernel fuses them, so the
//! results equal PyTorch's bit for bit (they are not libm's `logf`/`sinf`/`cosf`). The
//! constants are written as the kernel writes them.
#![allow(clippy::excessive_precision)]

/// Natural logarithm of `x > 0` (NaN for `x <= 0`), as PyTorch's vectorised kernel computes it.
#[inline(always)]
pub(crate) fn log(x0: f32) -> f32 {
    let invalid = x0 <= 0.0 || x0.is_nan();
    // Denormals are cut off at the smallest normal float.
    let x = x0.max(f32::from_bits(0x0080_0000));
    let bits = x.to_bits();
    let exponent = (bits >> 23) as i32 - 0x7f;
    // Keep the mantissa with exponent -1: x in [0.5, 1).
    let mut x = f32::from_bits((bits & !0x7f80_0000) | 0.5f32.to_bits());
    let mut e = exponent as f32 + 1.0;
    let below = x < std::f32::consts::FRAC_1_SQRT_2;
    let tmp = if below { x } else { 0.0 };
    x -= 1.0;
    if below {
        e -= 1.0;
    }
    x += tmp;
    let z = x * x;
    let mut y = 7.037_683_629_2e-2f32;
    for c in [
        -1.151_461_031_0e-1f32,
        1.167_699_874_0e-1,
        -1.242_014_084_6e-1,
        1.424_932_278_7e-1,
        -1.666_805_766_5e-1,
        2.000_071_476_5e-1,
        -2.499_999_399_3e-1,
        3.333_333_117_4e-1,
    ] {
        y = y.mul_add(x, c);
    }
    y *= x;
    y = y.mul_add(z, e * -2.121_944_40e-4);
    y = z.mul_add(-0.5, y);
    let r = e.mul_add(0.693_359_375, x + y);
    if invalid {
        f32::NAN
    } else {
        r
    }
}

/// `(sin x, cos x)`, as PyTorch's vectorised kernel computes them (accurate for |x| < 8192).
#[inline(always)]
pub(crate) fn sincos(x0: f32) -> (f32, f32) {
    let mut sign_sin = x0.to_bits() & 0x8000_0000;
    let x = x0.abs();
    // j = (int(x·4/π) + 1) & !1: the octant, rounded to even.
    let j = (((x * 1.273_239_544_735_16) as i32) + 1) & !1;
    let y = j as f32;
    sign_sin ^= ((j & 4) as u32) << 29;
    let sign_cos = ((!(j - 2) & 4) as u32) << 29;
    let sine_poly_for_sine = (j & 2) == 0;
    // Extended precision modular arithmetic: x - y·π/4 in three parts.
    let x = y.mul_add(-0.785_156_25, x);
    let x = y.mul_add(-2.418_756_484_985_351_562_5e-4, x);
    let x = y.mul_add(-3.774_894_977_445_941_08e-8, x);
    let z = x * x;
    let mut c = 2.443_315_711_809_948e-5f32.mul_add(z, -1.388_731_625_493_765e-3);
    c = c.mul_add(z, 4.166_664_568_298_827e-2);
    c *= z;
    c = c.mul_add(z, -(z * 0.5));
    c += 1.0;
    let mut s = (-1.951_529_589_1e-4f32).mul_add(z, 8.332_160_873_6e-3);
    s = s.mul_add(z, -1.666_665_461_1e-1);
    s *= z;
    s = s.mul_add(x, x);
    let (sin, cos) = if sine_poly_for_sine { (s, c) } else { (c, s) };
    (
        f32::from_bits(sin.to_bits() ^ sign_sin),
        f32::from_bits(cos.to_bits() ^ sign_cos),
    )
}
