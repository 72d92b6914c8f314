//! Kernels compiled twice, for any x86-64 CPU and for AVX2, and picked at run time.

/// Defines `$name`, which runs `$body` (an `#[inline(always)]` function taking the same
/// arguments) compiled for AVX2 as `$avx2` when the CPU has it, and as is otherwise. Both
/// builds do the same operations in the same order, so they give the same numbers; only the
/// vectors are wider.
macro_rules! avx2_dispatch {
    (
        $(#[$doc:meta])*
        $vis:vis fn $name:ident / $avx2:ident <T: Float>($($arg:ident: $ty:ty),* $(,)?)
            $(-> $ret:ty)? => $body:ident;
    ) => {
        $(#[$doc])*
        $vis fn $name<T: Float>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                return unsafe { $avx2($($arg),*) };
            }
            $body($($arg),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] compiled for AVX2.")]
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $avx2<T: Float>($($arg: $ty),*) $(-> $ret)? {
            $body($($arg),*)
        }
    };
}

pub(crate) use avx2_dispatch;
