//! The differentiable ops: each file holds a family, each op its forward and its backward side
//! by side, the backward written once. Backward rules are written with these same ops, so
//! `create_graph` records them; the hot ops write theirs generically over the gradient's
//! carrier ([`crate::flow::Flow`]), so a backward that records nothing runs the same rule on
//! plain tensors.

mod binary;
mod fused;
pub use fused::Reduction;
mod index;
mod join;
mod matmul;
mod operators;
mod pad;
mod reduce;
mod shape;
mod softmax;
mod unary;
pub(crate) use unary::threshold_backward;

/// Defines the panicking form of a `try_` op: same arguments, `#[track_caller]`, the error's
/// message as the panic message.
macro_rules! plain {
    ($(#[$meta:meta])* $name:ident => $try_name:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$meta])*
        ///
        /// # Panics
        #[doc = concat!("When `", stringify!($try_name), "` would return an error (shapes or dims that do not fit).")]
        #[track_caller]
        pub fn $name(&self, $($arg: $ty),*) -> Var<T> {
            crate::error::ok(self.$try_name($($arg),*))
        }
    };
}
pub(crate) use plain;
