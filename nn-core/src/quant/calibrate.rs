//! Post-training quantization: the f32 model runs over a representative set, layer by
//! layer, and each layer's block is written from the ranges it produces (see the
//! [module documentation](super) for the scheme).

use super::{affine, Fuse, Header, QParams, Quantize, Role, HEADER};
use crate::error::{check_finite, Error, Result};
use crate::layers::LayerRef;
use alloc::{format, string::String, vec, vec::Vec};

/// An affine layer whose block waits for what follows: a batch normalisation to fold in, and
/// the range of the values after it.
#[derive(Debug)]
struct Pending {
    /// Where its block starts.
    at: usize,
    inputs: usize,
    channels: usize,
    /// Its f32 weights `[inputs][channels]` and biases, with any batch normalisation folded
    /// in.
    weights: Vec<f32>,
    bias: Vec<f32>,
    input: QParams,
    relu: bool,
    /// The blocks of the batch normalisations folded in (headers to write).
    folded: Vec<usize>,
}

/// Quantizes a model layer by layer (what the generated `quantize` runs).
///
/// ```
/// use nn_core::activations::{Linear, Relu};
/// use nn_core::layers::{Dense, LayerRef};
/// use nn_core::quant::{Quantize, Quantizer};
/// let (a, b) = (Dense::<2, 3, Relu>::new(Relu), Dense::<3, 1>::new(Linear));
/// let pa = [1.0, -1.0, 0.5, 0.5, 0.25, -2.0, 0.1, 0.0, 0.0];
/// let pb = [1.0, 2.0, -1.0, 0.3];
/// let samples = [0.0, 1.0, 0.5, 0.5, 1.0, -1.0, -0.25, 0.75];
/// let mut q = Quantizer::new(&samples, 2, 2)?;
/// q.layer("a", LayerRef::new(a, &pa, &[]))?;
/// q.layer("b", LayerRef::new(b, &pb, &[]))?;
/// let bytes = q.finish()?;
/// assert_eq!(bytes.len(), <Dense<2, 3, Relu>>::QBYTES + <Dense<3, 1>>::QBYTES);
/// # Ok::<(), nn_core::Error>(())
/// ```
#[derive(Debug)]
pub struct Quantizer {
    samples: usize,
    /// The f32 model's current values, `samples` rows of `width`.
    values: Vec<f32>,
    width: usize,
    /// The scale of the current values in the int8 model.
    current: QParams,
    bytes: Vec<u8>,
    pending: Option<Pending>,
    layers: usize,
    seen: usize,
}

impl Quantizer {
    /// Starts quantizing a model of `layers` layers with the representative samples `x`
    /// (`input` values each, a few hundred samples is typical); the input's scale and zero
    /// point come from their range.
    ///
    /// # Errors
    /// [`Error::EmptyData`] without samples, [`Error::FeatureCount`] when `x` is not whole
    /// samples, [`Error::NonFinite`] for NaN or infinity.
    pub fn new(x: &[f32], input: usize, layers: usize) -> Result<Self> {
        let samples = crate::error::rows("the calibration samples", x, input)?;
        check_finite("the calibration samples", x)?;
        Ok(Self {
            samples,
            values: x.to_vec(),
            width: input,
            current: range(x),
            bytes: Vec::new(),
            pending: None,
            layers,
            seen: 0,
        })
    }

    /// Runs the next layer over the samples and quantizes it (its block is written once the
    /// values after it, and any batch normalisation to fold, are known).
    ///
    /// # Errors
    /// [`Error::Format`] naming the layer when it cannot be quantized: an activation other
    /// than `linear` or `relu` before the last layer, a batch normalisation that does not
    /// follow a `Dense` or `Conv2D` without activation, or f32 values that are not finite.
    pub fn layer<L: Quantize>(&mut self, name: &'static str, layer: LayerRef<'_, L>) -> Result<()> {
        let last = self.seen + 1 == self.layers;
        self.seen += 1;
        let mut y = vec![0.0f32; self.samples * L::OUTPUT];
        for (x, y) in self
            .values
            .chunks_exact(self.width)
            .zip(y.chunks_exact_mut(L::OUTPUT))
        {
            layer.layer.preactivation(layer.params, layer.state, x, y);
        }
        let fuse = layer.layer.fuse();
        match fuse {
            Fuse::Linear => {}
            Fuse::Relu => y.iter_mut().for_each(|v| *v = v.max(0.0)),
            Fuse::Other(f) if !last => {
                return Err(unsupported(
                    name,
                    format!("its activation `{f}` is not covered inside the model (only `linear` and `relu`; other activations only on the last layer, in f32 after dequantizing)"),
                ))
            }
            Fuse::Other(_) => {}
        }
        check_finite(name, &y)?;
        match L::ROLE {
            Role::Affine { inputs, channels } => {
                self.flush();
                let at = self.bytes.len();
                self.bytes.resize(at + L::QBYTES, 0);
                let weights = layer.params[..inputs * channels].to_vec();
                let bias = layer.params[inputs * channels..][..channels].to_vec();
                self.pending = Some(Pending {
                    at,
                    inputs,
                    channels,
                    weights,
                    bias,
                    input: self.current,
                    relu: fuse == Fuse::Relu,
                    folded: Vec::new(),
                });
            }
            Role::Folded { channels } => {
                let Some(p) = self
                    .pending
                    .as_mut()
                    .filter(|p| !p.relu && p.channels == channels)
                else {
                    return Err(unsupported(
                        name,
                        String::from("batch normalisation is folded into the `Dense` or `Conv2D` right before it, which must have no activation and as many channels"),
                    ));
                };
                // y = gain · x + offset per channel, probed on 0 and 1.
                let (zero, one) = (vec![0.0; L::INPUT], vec![1.0; L::INPUT]);
                let (mut offset, mut gain) = (vec![0.0; L::OUTPUT], vec![0.0; L::OUTPUT]);
                layer
                    .layer
                    .preactivation(layer.params, layer.state, &zero, &mut offset);
                layer
                    .layer
                    .preactivation(layer.params, layer.state, &one, &mut gain);
                for c in 0..channels {
                    let g = gain[c] - offset[c];
                    for row in p.weights.chunks_exact_mut(channels) {
                        row[c] *= g;
                    }
                    p.bias[c] = p.bias[c] * g + offset[c];
                }
                p.folded.push(self.bytes.len());
                self.bytes.resize(self.bytes.len() + L::QBYTES, 0);
            }
            Role::SameScale => {
                // The pending layer's output is this layer's input: its scale is this one's.
                self.flush();
                let at = self.bytes.len();
                self.bytes.resize(at + L::QBYTES, 0);
                Header {
                    input: self.current,
                    output: self.current,
                }
                .write(&mut self.bytes[at..at + HEADER]);
            }
        }
        self.values = y;
        self.width = L::OUTPUT;
        Ok(())
    }

    /// The quantized model's bytes, every layer's block in order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when fewer layers were given than announced.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        if self.seen != self.layers {
            return Err(Error::InvalidArgument {
                name: "layers",
                reason: "the quantizer was given fewer layers than the model has",
            });
        }
        self.flush();
        Ok(self.bytes)
    }

    /// Writes the pending affine layer, if any, with the range of the current values as its
    /// output's scale.
    fn flush(&mut self) {
        let Some(p) = self.pending.take() else { return };
        let output = self.current_range();
        write_affine(&mut self.bytes[p.at..], &p, output);
        for at in &p.folded {
            Header {
                input: output,
                output,
            }
            .write(&mut self.bytes[*at..*at + HEADER]);
        }
        self.current = output;
    }

    /// The range of the current values as int8 parameters.
    fn current_range(&self) -> QParams {
        range(&self.values)
    }
}

/// The int8 parameters of the range of `values`.
fn range(values: &[f32]) -> QParams {
    let (min, max) = values
        .iter()
        .fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    QParams::from_range(min, max)
}

fn unsupported(name: &str, reason: String) -> Error {
    Error::Format {
        source_name: format!("layer `{name}`"),
        reason: format!("cannot be quantized to int8: {reason}"),
    }
}

/// Rounds half away from zero and saturates to `i32`.
#[allow(clippy::cast_possible_truncation)]
fn round_i32(x: f64) -> i32 {
    crate::math::round_f64(x).clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
}

/// Writes the affine block of `p` with the output parameters `output`.
fn write_affine(block: &mut [u8], p: &Pending, output: QParams) {
    let o = affine::offsets(p.inputs, p.channels);
    Header {
        input: p.input,
        output,
    }
    .write(block);
    let lo = if p.relu { output.zero_point } else { -128 };
    block[HEADER..HEADER + 4].copy_from_slice(&lo.to_le_bytes());
    block[HEADER + 4..HEADER + 8].copy_from_slice(&127i32.to_le_bytes());
    for c in 0..p.channels {
        let max = p
            .weights
            .iter()
            .skip(c)
            .step_by(p.channels)
            .fold(0.0f32, |m, &w| m.max(w.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        for i in 0..p.inputs {
            let w = p.weights[i * p.channels + c];
            #[allow(clippy::cast_possible_truncation)]
            let q = round_i32(f64::from(w) / f64::from(scale)).clamp(-127, 127) as i8;
            block[o.weights + i * p.channels + c] = q.cast_unsigned();
        }
        let acc_scale = f64::from(p.input.scale) * f64::from(scale);
        let bias = round_i32(f64::from(p.bias[c]) / acc_scale);
        let (m, e) = super::quantize_multiplier(acc_scale / f64::from(output.scale));
        block[o.bias + 4 * c..][..4].copy_from_slice(&bias.to_le_bytes());
        block[o.scales + 4 * c..][..4].copy_from_slice(&scale.to_le_bytes());
        block[o.multipliers + 4 * c..][..4].copy_from_slice(&m.to_le_bytes());
        block[o.shifts + 4 * c..][..4].copy_from_slice(&e.to_le_bytes());
    }
}
