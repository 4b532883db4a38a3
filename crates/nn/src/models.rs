//! `Sequential` models: a stack of layers built for an input shape, with Keras's `summary()`.

use std::collections::HashMap;

use crate::layers::{snake_name, BuildCtx, Layer, Param};
use crate::random::Rng;
use crate::{shape_err, Device, Result, Tensor};

/// `keras.Sequential([...])`: layers applied in order.
pub struct Sequential {
    name: String,
    layers: Vec<Box<dyn Layer>>,
    shapes: Vec<Vec<usize>>,
    input: Option<Vec<usize>>,
}

impl Default for Sequential {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequential {
    /// An empty model named `sequential`.
    pub fn new() -> Self {
        Self { name: "sequential".into(), layers: Vec::new(), shapes: Vec::new(), input: None }
    }

    /// Appends a layer (builder style).
    pub fn with(mut self, layer: impl Layer + 'static) -> Self {
        self.add(layer);
        self
    }

    /// Appends a layer.
    pub fn add(&mut self, layer: impl Layer + 'static) {
        self.layers.push(Box::new(layer));
        self.input = None;
    }

    /// Sets the model's name.
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// Names unnamed layers Keras-style (`conv2d`, `conv2d_1`, ...), creates every variable on
    /// `device` from `seed`, and records each layer's output shape. `input_shape` has no batch.
    pub fn build(&mut self, input_shape: &[usize], device: &Device, seed: u64) -> Result<()> {
        let mut rng = Rng::new(seed);
        self.build_with(input_shape, &mut BuildCtx { device, rng: &mut rng }).map(|_| ())
    }

    fn build_with(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        let mut shape = input_shape.to_vec();
        self.shapes.clear();
        for layer in &mut self.layers {
            if layer.name().is_empty() {
                let base = snake_name(layer.kind());
                let n = counts.entry(base.clone()).or_insert(0);
                layer.set_name(if *n == 0 { base } else { format!("{base}_{n}") });
                *n += 1;
            }
            shape = layer.build(&shape, ctx)?;
            self.shapes.push(shape.clone());
        }
        self.input = Some(input_shape.to_vec());
        Ok(shape)
    }

    /// Runs every layer on a batch.
    pub fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        if self.input.is_none() {
            return Err(shape_err("Sequential", format!("model '{}' was called before build()", self.name)));
        }
        self.layers.iter().try_fold(x.clone(), |h, l| l.call(&h, training))
    }

    /// Every variable (trainable first within each layer, in Keras's order).
    pub fn variables(&self) -> Vec<Param> {
        self.layers.iter().flat_map(|l| l.variables()).collect()
    }

    /// The variables the optimizer updates.
    pub fn trainable_variables(&self) -> Vec<Param> {
        self.variables().into_iter().filter(Param::trainable).collect()
    }

    /// Total number of scalars in every variable.
    pub fn count_params(&self) -> usize {
        self.variables().iter().map(Param::numel).sum()
    }

    /// Keras's `model.summary()` table: each layer's output shape and parameter count.
    pub fn summary(&self) -> String {
        let mut rows = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            let shape = match self.shapes.get(i) {
                Some(s) => format!("(None, {})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
                None => "?".into(),
            };
            let params: usize = l.variables().iter().map(Param::numel).sum();
            rows.push([format!("{} ({})", l.name(), l.kind()), shape, thousands(params)]);
        }
        let total = self.count_params();
        let trainable: usize = self.trainable_variables().iter().map(Param::numel).sum();
        let mut out = format!("Model: \"{}\"\n", self.name);
        out += &table(&["Layer (type)", "Output Shape", "Param #"], &rows);
        for (label, n) in [("Total", total), ("Trainable", trainable), ("Non-trainable", total - trainable)] {
            out += &format!(" {label} params: {} ({})\n", thousands(n), bytes(n * 4));
        }
        out
    }
}

impl Layer for Sequential {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn kind(&self) -> &'static str {
        "Sequential"
    }
    fn build(&mut self, input_shape: &[usize], ctx: &mut BuildCtx) -> Result<Vec<usize>> {
        self.build_with(input_shape, ctx)
    }
    fn call(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        Sequential::call(self, x, training)
    }
    fn variables(&self) -> Vec<Param> {
        Sequential::variables(self)
    }
}

/// `60074` → `60,074`.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keras's size suffix: `234.66 KB`.
fn bytes(n: usize) -> String {
    let units = ["B", "KB", "MB", "GB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.2} {}", units[u])
}

/// A box-drawn table like Keras 3's summary (the last column right-aligned).
fn table(head: &[&str; 3], rows: &[[String; 3]]) -> String {
    let mut w = [33, 24, 15];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count() + 2);
        }
    }
    let line = |l: &str, m: &str, r: &str, fill: &str| {
        format!("{l}{}{m}{}{m}{}{r}\n", fill.repeat(w[0]), fill.repeat(w[1]), fill.repeat(w[2]))
    };
    let row = |c: [&str; 3], bar: &str| {
        format!(
            "{bar} {:<a$}{bar} {:<b$}{bar} {:>c$} {bar}\n",
            c[0],
            c[1],
            c[2],
            a = w[0] - 1,
            b = w[1] - 1,
            c = w[2] - 2
        )
    };
    let mut out = line("┏", "┳", "┓", "━");
    out += &row(*head, "┃");
    out += &line("┡", "╇", "┩", "━");
    for (i, r) in rows.iter().enumerate() {
        out += &row([&r[0], &r[1], &r[2]], "│");
        if i + 1 < rows.len() {
            out += &line("├", "┼", "┤", "─");
        }
    }
    out + &line("└", "┴", "┘", "─")
}

#[cfg(test)]
mod tests {
    use super::{bytes, thousands};

    #[test]
    fn keras_number_formats() {
        assert_eq!(thousands(60074), "60,074");
        assert_eq!(thousands(335114), "335,114");
        assert_eq!(thousands(12), "12");
        assert_eq!(bytes(60074 * 4), "234.66 KB");
        assert_eq!(bytes(0), "0.00 B");
    }
}
