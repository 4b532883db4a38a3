//! Keras's merge layers: `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum` and
//! `Concatenate`. They take several inputs ([`Layer::build_multi`] / [`Layer::call_multi`]),
//! so they serve in functional graphs and, through their `merge` method, in custom blocks.
//! `Add` can fuse a following ReLU into its last addition (the models' peephole).

use tessera_kernels::concat::concat_shape;
use tessera_kernels::elementwise::broadcast_shape;

use super::{BuildCtx, Layer};
use crate::{ops, shape_err, Result, Tensor};

/// How an elementwise merge layer combines its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

impl Combine {
    /// `act` of the sum of the inputs with the last addition fused with it (`Add` only; `None`
    /// for the other merges).
    fn apply_fused(self, xs: &[&Tensor], act: crate::Activation) -> Option<Result<Tensor>> {
        let ([first, rest @ ..], Combine::Add) = (xs, self) else { return None };
        let (last, middle) = rest.split_last()?;
        let sum = middle.iter().try_fold((*first).clone(), |acc, x| ops::add(&acc, x));
        Some(sum.and_then(|s| ops::add_activation(&s, last, act)))
    }

    /// Folds the inputs pairwise (and divides by their number for `Average`).
    fn apply(self, xs: &[&Tensor]) -> Result<Tensor> {
        let (first, rest) = xs.split_first().ok_or_else(|| shape_err("merge", "needs at least one input"))?;
        let pair = |a: &Tensor, b: &Tensor| match self {
            Combine::Add | Combine::Average => ops::add(a, b),
            Combine::Subtract => ops::sub(a, b),
            Combine::Multiply => ops::mul(a, b),
            Combine::Maximum => ops::maximum(a, b),
            Combine::Minimum => ops::minimum(a, b),
        };
        let sum = rest.iter().try_fold((*first).clone(), |acc, x| pair(&acc, x))?;
        match self {
            Combine::Average => ops::affine(&sum, 1.0 / xs.len() as f32, 0.0),
            _ => Ok(sum),
        }
    }

    /// Keras's input-count rule: `Subtract` takes exactly two, the others at least two.
    fn check_count(self, layer: &str, n: usize) -> Result<()> {
        let ok = if self == Combine::Subtract { n == 2 } else { n >= 2 };
        if ok {
            return Ok(());
        }
        let want = if self == Combine::Subtract { "exactly 2" } else { "at least 2" };
        Err(shape_err("merge", format!("layer '{layer}' needs {want} inputs, got {n}")))
    }
}

/// The shapes' common broadcast shape (the batch axis excluded), or an error naming them.
fn merged_shape(layer: &str, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
    shapes[1..].iter().try_fold(shapes[0].clone(), |acc, s| {
        broadcast_shape("merge", &acc, s).map_err(|_| {
            shape_err("merge", format!("layer '{layer}' cannot merge inputs of shapes {shapes:?} (without batch)"))
        })
    })
}

/// Declares an elementwise merge layer.
macro_rules! merge_layer {
    ($ty:ident, $kind:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Default, Clone)]
        pub struct $ty {
            name: String,
        }

        impl $ty {
            /// A merge layer (auto-named when used in a model).
            pub fn new() -> Self {
                Self::default()
            }

            /// Sets the layer name.
            pub fn name(mut self, n: &str) -> Self {
                self.name = n.to_string();
                self
            }

            /// Merges tensors directly (for custom blocks).
            pub fn merge(&self, xs: &[&Tensor]) -> Result<Tensor> {
                Combine::$ty.apply(xs)
            }
        }

        impl Layer for $ty {
            named!($kind);
            fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
                self.build_multi(&[input_shape.to_vec()], ctx)
            }
            fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
                self.call_multi(std::slice::from_ref(x), training)
            }
            fn build_multi(&mut self, shapes: &[Vec<usize>], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
                Combine::$ty.check_count(&self.name, shapes.len())?;
                merged_shape(&self.name, shapes)
            }
            fn call_multi(&self, xs: &[Tensor], _training: bool) -> Result<Tensor> {
                Combine::$ty.check_count(&self.name, xs.len())?;
                Combine::$ty.apply(&xs.iter().collect::<Vec<_>>())
            }
            fn call_multi_fused(&self, xs: &[Tensor], act: crate::Activation, _: bool) -> Option<Result<Tensor>> {
                if let Err(e) = Combine::$ty.check_count(&self.name, xs.len()) {
                    return Some(Err(e));
                }
                Combine::$ty.apply_fused(&xs.iter().collect::<Vec<_>>(), act)
            }
        }
    };
}

merge_layer!(Add, "Add", "`keras.layers.Add()`: the elementwise sum of its inputs (e.g. a residual shortcut).");
merge_layer!(Subtract, "Subtract", "`keras.layers.Subtract()`: the first input minus the second.");
merge_layer!(Multiply, "Multiply", "`keras.layers.Multiply()`: the elementwise product of its inputs.");
merge_layer!(Average, "Average", "`keras.layers.Average()`: the elementwise mean of its inputs.");
merge_layer!(Maximum, "Maximum", "`keras.layers.Maximum()`: the elementwise maximum of its inputs.");
merge_layer!(Minimum, "Minimum", "`keras.layers.Minimum()`: the elementwise minimum of its inputs.");

/// `keras.layers.Concatenate(axis=-1)`: joins its inputs along the channel axis by default.
#[derive(Debug, Default, Clone)]
pub struct Concatenate {
    name: String,
    axis: Option<usize>,
}

impl Concatenate {
    /// Concatenates along the last axis.
    pub fn new() -> Self {
        Self::default()
    }

    /// Concatenates along `axis` of the batched tensor (1 is the first axis after the batch).
    pub fn axis(axis: usize) -> Self {
        Self { name: String::new(), axis: Some(axis) }
    }

    /// Sets the layer name.
    pub fn name(mut self, n: &str) -> Self {
        self.name = n.to_string();
        self
    }

    /// Joins tensors directly (for custom blocks).
    pub fn merge(&self, xs: &[&Tensor]) -> Result<Tensor> {
        let first = xs.first().ok_or_else(|| shape_err("Concatenate", "needs at least one input"))?;
        ops::concat(xs, self.axis.unwrap_or(first.rank().saturating_sub(1)))
    }
}

impl Layer for Concatenate {
    named!("Concatenate");
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        self.build_multi(&[input_shape.to_vec()], ctx)
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.call_multi(std::slice::from_ref(x), training)
    }
    fn build_multi(&mut self, shapes: &[Vec<usize>], _ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        if shapes.len() < 2 {
            let n = shapes.len();
            return Err(shape_err("Concatenate", format!("layer '{}' needs at least 2 inputs, got {n}", self.name)));
        }
        // Shapes here have no batch axis; the layer's axis counts the batch.
        let batched: Vec<Vec<usize>> = shapes.iter().map(|s| [&[1], s.as_slice()].concat()).collect();
        let views: Vec<&[usize]> = batched.iter().map(Vec::as_slice).collect();
        let axis = self.axis.unwrap_or(batched[0].len() - 1);
        if axis == 0 {
            return Err(shape_err(
                "Concatenate",
                format!("layer '{}' cannot concatenate along the batch axis", self.name),
            ));
        }
        Ok(concat_shape(&views, axis)?[1..].to_vec())
    }
    fn call_multi(&self, xs: &[Tensor], _training: bool) -> Result<Tensor> {
        self.merge(&xs.iter().collect::<Vec<_>>())
    }
}
