//! Model access: "a ReLU MLP whose per-layer pre-activations can be read".
//!
//! [`ReluMlp`] is implemented for the dfdx building blocks ([`Linear`],
//! [`UnbiasedLinear`], [`ReLU`]), for tuples of up to six of them (nested
//! tuples give any depth) and for [`Repeated`]. A model flattens itself into a
//! list of [`MlpOp`]s; [`MlpView`] checks that the list is an alternation
//! `Linear (ReLU Linear)*` and runs batched forwards on dynamic shapes that
//! return every layer's pre-activation.

use dfdx::nn::modules::{Linear, ReLU, Repeated, UnbiasedLinear};
use dfdx::prelude::*;

use super::DiagError;

/// A dynamically shaped matrix on the CPU, `[rows, cols]`.
pub type Matrix<E> = Tensor<(usize, usize), E, Cpu>;

/// Name of linear layer `index` in metric names: `l0`, `l1`, … (the last
/// linear layer produces the logits).
pub fn layer_name(index: usize) -> String {
    format!("l{index}")
}

/// Name of the hidden layer (ReLU output) of linear layer `index`: `h0`, `h1`, ….
pub fn hidden_name(index: usize) -> String {
    format!("h{index}")
}

/// One linear layer seen through dynamic shapes.
///
/// The tensors share storage *and* tensor id with the model's own parameters
/// (dfdx reshapes a contiguous tensor without copying), so
/// `Gradients::get(&layer.weight)` finds the model's gradient.
#[derive(Debug, Clone)]
pub struct DenseLayer<E: Dtype> {
    /// Weight, `[out, in]` (dfdx's layout).
    pub weight: Matrix<E>,
    /// Bias, `[out]`, for [`Linear`]; `None` for [`UnbiasedLinear`].
    pub bias: Option<Tensor<(usize,), E, Cpu>>,
}

impl<E: Dtype> DenseLayer<E> {
    /// Input width.
    pub fn in_dim(&self) -> usize {
        self.weight.shape().1
    }

    /// Output width (number of neurons).
    pub fn out_dim(&self) -> usize {
        self.weight.shape().0
    }
}

/// One step of a flattened MLP.
#[derive(Debug, Clone)]
pub enum MlpOp<E: Dtype> {
    /// A linear (affine) layer.
    Linear(DenseLayer<E>),
    /// An element-wise ReLU.
    Relu,
}

/// A ReLU MLP (or a piece of one) whose linear layers can be read.
///
/// Implemented for dfdx's [`Linear`], [`UnbiasedLinear`] and [`ReLU`], for
/// tuples of up to six implementors and for [`Repeated`], so a model such as
/// `(UnbiasedLinear<226, 200>, ReLU, UnbiasedLinear<200, 200>, ReLU,
/// UnbiasedLinear<200, 113>)` — or, beyond dfdx's six-element tuples,
/// `((Linear<8, 16>, ReLU), (Linear<16, 16>, ReLU), (Linear<16, 16>, ReLU),
/// (Linear<16, 16>, ReLU), Linear<16, 4>)` — gets every diagnostic unchanged.
pub trait ReluMlp<E: Dtype> {
    /// Appends this piece's operations, in forward order.
    fn push_ops(&self, ops: &mut Vec<MlpOp<E>>);

    /// The model as a validated [`MlpView`].
    fn mlp_view(&self) -> Result<MlpView<E>, DiagError>
    where
        Cpu: Device<E>,
    {
        let mut ops = Vec::new();
        self.push_ops(&mut ops);
        MlpView::from_ops(ops)
    }
}

impl<const I: usize, const O: usize, E: Dtype> ReluMlp<E> for Linear<I, O, E, Cpu>
where
    Cpu: Device<E>,
{
    fn push_ops(&self, ops: &mut Vec<MlpOp<E>>) {
        ops.push(MlpOp::Linear(DenseLayer {
            weight: self.weight.clone().reshape_like(&(O, I)),
            bias: Some(self.bias.clone().reshape_like(&(O,))),
        }));
    }
}

impl<const I: usize, const O: usize, E: Dtype> ReluMlp<E> for UnbiasedLinear<I, O, E, Cpu>
where
    Cpu: Device<E>,
{
    fn push_ops(&self, ops: &mut Vec<MlpOp<E>>) {
        ops.push(MlpOp::Linear(DenseLayer {
            weight: self.weight.clone().reshape_like(&(O, I)),
            bias: None,
        }));
    }
}

impl<E: Dtype> ReluMlp<E> for ReLU {
    fn push_ops(&self, ops: &mut Vec<MlpOp<E>>) {
        ops.push(MlpOp::Relu);
    }
}

impl<E: Dtype, T: ReluMlp<E>, const N: usize> ReluMlp<E> for Repeated<T, N> {
    fn push_ops(&self, ops: &mut Vec<MlpOp<E>>) {
        for module in &self.modules {
            module.push_ops(ops);
        }
    }
}

macro_rules! tuple_relu_mlp {
    ($($name:ident $idx:tt),+) => {
        impl<E: Dtype, $($name: ReluMlp<E>),+> ReluMlp<E> for ($($name,)+) {
            fn push_ops(&self, ops: &mut Vec<MlpOp<E>>) {
                $(self.$idx.push_ops(ops);)+
            }
        }
    };
}

tuple_relu_mlp!(A 0);
tuple_relu_mlp!(A 0, B 1);
tuple_relu_mlp!(A 0, B 1, C 2);
tuple_relu_mlp!(A 0, B 1, C 2, D 3);
tuple_relu_mlp!(A 0, B 1, C 2, D 3, F 4);
tuple_relu_mlp!(A 0, B 1, C 2, D 3, F 4, G 5);

/// A validated ReLU MLP: linear layers with a ReLU between consecutive ones
/// and none after the last (which produces the logits).
#[derive(Debug, Clone)]
pub struct MlpView<E: Dtype> {
    layers: Vec<DenseLayer<E>>,
}

impl<E: Dtype> MlpView<E>
where
    Cpu: Device<E>,
{
    /// Checks that `ops` is `Linear (ReLU Linear)*` with matching widths.
    pub fn from_ops(ops: Vec<MlpOp<E>>) -> Result<Self, DiagError> {
        let mut layers: Vec<DenseLayer<E>> = Vec::new();
        let mut expect_linear = true;
        for (i, op) in ops.into_iter().enumerate() {
            match (op, expect_linear) {
                (MlpOp::Linear(layer), true) => {
                    if let Some(prev) = layers.last() {
                        if prev.out_dim() != layer.in_dim() {
                            return Err(DiagError::NotAnMlp(format!(
                                "op {i}: layer of width {} feeds a layer expecting {}",
                                prev.out_dim(),
                                layer.in_dim()
                            )));
                        }
                    }
                    layers.push(layer);
                    expect_linear = false;
                }
                (MlpOp::Relu, false) => expect_linear = true,
                (MlpOp::Linear(_), false) => {
                    return Err(DiagError::NotAnMlp(format!(
                        "op {i}: two linear layers without a ReLU between them"
                    )))
                }
                (MlpOp::Relu, true) => {
                    return Err(DiagError::NotAnMlp(format!(
                        "op {i}: a ReLU that does not follow a linear layer"
                    )))
                }
            }
        }
        if layers.is_empty() {
            return Err(DiagError::NotAnMlp("no linear layer".into()));
        }
        if expect_linear {
            return Err(DiagError::NotAnMlp(
                "the last operation must be a linear layer (the logits)".into(),
            ));
        }
        Ok(MlpView { layers })
    }

    /// The linear layers in forward order.
    pub fn layers(&self) -> &[DenseLayer<E>] {
        &self.layers
    }

    /// Number of linear layers (hidden layers + the logits layer).
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Input width D.
    pub fn input_dim(&self) -> usize {
        self.layers[0].in_dim()
    }

    /// Number of logits C.
    pub fn output_dim(&self) -> usize {
        self.layers[self.layers.len() - 1].out_dim()
    }

    /// Width of every linear layer's output, in order.
    pub fn widths(&self) -> Vec<usize> {
        self.layers.iter().map(DenseLayer::out_dim).collect()
    }

    /// Pre-activations of linear layers `0..=last` for inputs `x` `[N, D]`,
    /// in one batched forward.
    fn forward_until(&self, x: Matrix<E>, last: usize) -> Result<Vec<Matrix<E>>, DiagError> {
        let (n, d) = *x.shape();
        if d != self.input_dim() {
            return Err(DiagError::Shape(format!(
                "inputs have {d} features, the model expects {}",
                self.input_dim()
            )));
        }
        let mut out = Vec::with_capacity(last + 1);
        let mut h = x;
        for (l, layer) in self.layers[..=last].iter().enumerate() {
            if l > 0 {
                h = h.relu();
            }
            let w_t = layer
                .weight
                .clone()
                .permute::<(usize, usize), Axes2<1, 0>>();
            let mut z = h.matmul(w_t);
            if let Some(b) = &layer.bias {
                z = z + b
                    .clone()
                    .broadcast_like::<(usize, usize), Axis<0>>(&(n, layer.out_dim()));
            }
            out.push(z.clone());
            h = z;
        }
        Ok(out)
    }

    /// Every linear layer's pre-activation (the last one is the logits) for
    /// inputs `x` `[N, D]`, in one batched forward.
    pub fn pre_activations(&self, x: Matrix<E>) -> Result<Vec<Matrix<E>>, DiagError> {
        self.forward_until(x, self.layers.len() - 1)
    }

    /// The logits `[N, C]`.
    pub fn logits(&self, x: Matrix<E>) -> Result<Matrix<E>, DiagError> {
        let mut z = self.pre_activations(x)?;
        Ok(z.pop().expect("at least one layer"))
    }

    /// Hidden activations `h<layer>` = ReLU of linear layer `layer`'s output,
    /// `[N, W_layer]`; `layer` must be a hidden layer (not the logits layer).
    pub fn hidden(&self, x: Matrix<E>, layer: usize) -> Result<Matrix<E>, DiagError> {
        if layer + 1 >= self.layers.len() {
            return Err(DiagError::Config(format!(
                "hidden layer {layer} requested, the model has {} hidden layers",
                self.layers.len() - 1
            )));
        }
        let mut z = self.forward_until(x, layer)?;
        Ok(z.pop().expect("at least one layer").relu())
    }
}

/// Views any rank-2 CPU tensor (const or dynamic dims) as a [`Matrix`]
/// without copying (contiguous tensors are reshaped in place).
pub fn to_matrix<S: Shape, E: Dtype>(x: &Tensor<S, E, Cpu>) -> Result<Matrix<E>, DiagError>
where
    Cpu: Device<E>,
{
    if S::NUM_DIMS != 2 {
        return Err(DiagError::Shape(format!(
            "expected a [samples, features] tensor, got {} dimensions",
            S::NUM_DIMS
        )));
    }
    let dims = x.shape().concrete();
    Ok(x.clone().reshape_like(&(dims[0], dims[1])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::nn::builders as b;

    #[test]
    fn flat_tuple_mlp_is_read() {
        let dev: Cpu = Default::default();
        type M = (b::UnbiasedLinear<6, 5>, b::ReLU, b::UnbiasedLinear<5, 3>);
        let model = dev.build_module::<M, f32>();
        let view = model.mlp_view().unwrap();
        assert_eq!(view.widths(), vec![5, 3]);
        assert_eq!(view.input_dim(), 6);
        let x = dev.sample_normal_like(&(7usize, Const::<6>));
        let z = view.pre_activations(to_matrix(&x).unwrap()).unwrap();
        // The logits agree with dfdx's own forward.
        let y = model.forward(x.clone()).reshape_like(&(7usize, 3usize));
        let diff: f32 = (z[1].clone() - y).abs().sum::<(), _>().array();
        assert!(diff < 1e-5, "{diff}");
        // h0 = relu(z0).
        let h = view.hidden(to_matrix(&x).unwrap(), 0).unwrap();
        assert_eq!(h.as_vec(), z[0].clone().relu().as_vec());
    }

    #[test]
    fn nested_five_layer_mlp_with_bias_is_read() {
        let dev: Cpu = Default::default();
        type Block = (b::Linear<4, 4>, b::ReLU);
        type M = (
            (b::Linear<3, 4>, b::ReLU),
            Block,
            b::Repeated<Block, 2>,
            b::Linear<4, 2>,
        );
        let model = dev.build_module::<M, f64>();
        let view = model.mlp_view().unwrap();
        assert_eq!(view.num_layers(), 5);
        let x: Tensor<Rank2<9, 3>, f64, _> = dev.sample_normal();
        let z = view.pre_activations(to_matrix(&x).unwrap()).unwrap();
        let y = model.forward(x);
        let a = z[4].as_vec();
        for (p, q) in a.iter().zip(y.as_vec()) {
            assert!((p - q).abs() < 1e-12);
        }
    }

    #[test]
    fn non_mlps_are_rejected() {
        let dev: Cpu = Default::default();
        let two_linear = dev.build_module::<(b::Linear<2, 2>, b::Linear<2, 2>), f32>();
        assert!(matches!(two_linear.mlp_view(), Err(DiagError::NotAnMlp(_))));
        let trailing = dev.build_module::<(b::Linear<2, 2>, b::ReLU), f32>();
        assert!(matches!(trailing.mlp_view(), Err(DiagError::NotAnMlp(_))));
        let x = dev.zeros_like(&(3usize, 5usize));
        let ok = dev
            .build_module::<b::Linear<2, 2>, f32>()
            .mlp_view()
            .unwrap();
        assert!(matches!(ok.logits(x), Err(DiagError::Shape(_))));
    }
}
