//! Kernels compiled twice, for any x86-64 CPU and for an instruction-set extension (AVX2,
//! FMA), and picked at run time.

/// Defines `$name`, which runs `$body` (an `#[inline(always)]` function taking the same
/// arguments) compiled with the CPU feature `$feature` as `$fast` when the CPU has it, and as
/// is otherwise. Both builds do the same operations in the same order, so they give the same
/// numbers; only the instructions differ (wider vectors, one fused multiply-add instead of a
/// software routine).
macro_rules! cpu_dispatch {
    (
        $feature:tt:
        $(#[$doc:meta])*
        $vis:vis fn $name:ident / $fast:ident <T: Float>($($arg:ident: $ty:ty),* $(,)?)
            $(-> $ret:ty)? => $body:ident;
    ) => {
        $(#[$doc])*
        $vis fn $name<T: Float>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!($feature) {
                // SAFETY: the CPU has the feature.
                return unsafe { $fast($($arg),*) };
            }
            $body($($arg),*)
        }

        #[doc = concat!("[`", stringify!($name), "`] compiled for ", $feature, ".")]
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feature)]
        unsafe fn $fast<T: Float>($($arg: $ty),*) $(-> $ret)? {
            $body($($arg),*)
        }
    };
}

pub(crate) use cpu_dispatch;
