//! The JavaScript API (`wasm-bindgen --target web`): `Engine.open`, `Classifier`, `Trainer`,
//! `mnistFromRgba`. Everything that reads results back returns a `Promise`, so nothing blocks
//! the browser's thread; GPU work is recorded synchronously and read back asynchronously.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Reflect, Uint8ClampedArray};
use tessera::nn::GpuOptions;
use tessera::{Device, Tensor};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::engine::{self, Net};

/// Routes Rust panics to the browser console.
#[wasm_bindgen(start)]
pub fn start() {
    std::panic::set_hook(Box::new(|info| web_sys::console::error_1(&format!("tessera-web panic: {info}").into())));
}

/// A Tessera error as a JavaScript `Error`.
fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsError::new(&e.to_string()).into()
}

/// Why WebGPU is unavailable before even asking for an adapter (`navigator.gpu` missing).
fn webgpu_missing() -> Option<String> {
    let nav = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let gpu = Reflect::get(&nav, &"gpu".into()).ok()?;
    gpu.is_undefined().then(|| "this browser has no WebGPU (navigator.gpu is missing)".to_string())
}

/// Where the demo's tensors live: the browser's WebGPU adapter, or the CPU backend.
#[wasm_bindgen]
pub struct Engine {
    device: Device,
    gpu_error: Option<String>,
}

#[wasm_bindgen]
impl Engine {
    /// Opens WebGPU when `prefer_gpu`, falling back to the CPU backend (see `gpuError`).
    pub async fn open(prefer_gpu: bool) -> Engine {
        if !prefer_gpu {
            return Engine { device: Device::Cpu, gpu_error: Some("the CPU backend was requested".into()) };
        }
        if let Some(why) = webgpu_missing() {
            return Engine { device: Device::Cpu, gpu_error: Some(why) };
        }
        match Device::gpu_async(&GpuOptions::default()).await {
            Ok(device) => Engine { device, gpu_error: None },
            Err(e) => Engine { device: Device::Cpu, gpu_error: Some(format!("no WebGPU adapter: {e}")) },
        }
    }

    /// The device in words, e.g. `gpu:SwiftShader (BrowserWebGpu)` or `cpu`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.device.to_string()
    }

    /// True when running on WebGPU.
    #[wasm_bindgen(getter, js_name = isGpu)]
    pub fn is_gpu(&self) -> bool {
        self.device.as_gpu().is_some()
    }

    /// Why the GPU is not used (`undefined` when it is).
    #[wasm_bindgen(getter, js_name = gpuError)]
    pub fn gpu_error(&self) -> Option<String> {
        self.gpu_error.clone()
    }

    /// Runs conv2d, matmul, the LeNet-5 forward pass and an Adam step on the CPU and on this
    /// engine's device; resolves to a JSON array of `{name, max_abs_diff, max_abs, len}`.
    #[wasm_bindgen(js_name = parityReport)]
    pub fn parity_report(&self) -> Promise {
        let dev = self.device.clone();
        future_to_promise(async move {
            let lines = engine::parity_report(&dev).await.map_err(js_err)?;
            Ok(engine::parity_json(&lines).into())
        })
    }
}

/// Recorded class probabilities, read back asynchronously into a `Float32Array`.
fn probabilities_promise(probs: Result<Tensor, JsValue>) -> Promise {
    future_to_promise(async move {
        let v = probs?.to_vec_async().await.map_err(js_err)?;
        Ok(Float32Array::from(&v[..]).into())
    })
}

/// Accuracy of a net on u8 images with labels, as a promise.
fn evaluate_promise(net: &Net, images: &[u8], labels: &[u8]) -> Promise {
    let correct = net.record_correct(images, labels);
    let n = labels.len() as f32;
    future_to_promise(async move {
        let c = correct.map_err(js_err)?.to_vec_async().await.map_err(js_err)?;
        Ok(JsValue::from_f64((c[0] / n) as f64))
    })
}

/// A recorded scalar, read back asynchronously into a number.
fn scalar_promise(t: Result<Tensor, JsValue>) -> Promise {
    future_to_promise(async move {
        let v = t?.to_vec_async().await.map_err(js_err)?;
        Ok(JsValue::from_f64(v[0] as f64))
    })
}

/// `{name, width, height, rgba}` for a canvas's `ImageData`.
fn picture_js(p: &engine::Picture) -> Result<JsValue, JsValue> {
    let o = Object::new();
    Reflect::set(&o, &"name".into(), &p.name.as_str().into())?;
    Reflect::set(&o, &"width".into(), &p.width.into())?;
    Reflect::set(&o, &"height".into(), &p.height.into())?;
    Reflect::set(&o, &"rgba".into(), &Uint8ClampedArray::from(&p.rgba[..]).into())?;
    Ok(o.into())
}

/// Recorded tensors drawn with `draw` and read back; resolves to an array of pictures.
fn pictures_promise(
    tensors: Result<Vec<(String, Tensor)>, JsValue>,
    draw: fn(&Tensor) -> tessera::Result<tessera::viz::image::RgbImage>,
) -> Promise {
    future_to_promise(async move {
        let pics = engine::pictures(tensors?, draw).await.map_err(js_err)?;
        let arr = Array::new();
        for p in &pics {
            arr.push(&picture_js(p)?);
        }
        Ok(arr.into())
    })
}

/// The first two conv layers' feature maps of one image, as pictures.
fn feature_maps_promise(net: &Net, pixels: &[f32]) -> Promise {
    pictures_promise(net.record_feature_maps(pixels, 2).map_err(js_err), tessera::viz::feature_grid)
}

/// The first conv layer's filters, as an array of one picture.
fn filters_promise(net: &Net) -> Promise {
    pictures_promise(net.first_kernel().map(|k| vec![k]).map_err(js_err), tessera::viz::filter_grid)
}

/// A LeNet-5 for classifying drawings (load the weights `tessera train lenet5` wrote).
#[wasm_bindgen]
pub struct Classifier {
    net: Rc<Net>,
}

#[wasm_bindgen]
impl Classifier {
    /// A LeNet-5 on the engine's device, randomly initialised with `seed`.
    #[wasm_bindgen(constructor)]
    pub fn new(engine: &Engine, seed: u32) -> Result<Classifier, JsValue> {
        Ok(Classifier { net: Rc::new(Net::lenet5(&engine.device, seed as u64).map_err(js_err)?) })
    }

    /// Loads a Tessera checkpoint (safetensors bytes).
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights(&self, bytes: &[u8]) -> Result<(), JsValue> {
        self.net.load_weights(bytes, "weights").map_err(js_err)
    }

    /// Resolves to a `Float32Array` of 10 probabilities per 28×28 image in `pixels`.
    pub fn classify(&self, pixels: Vec<f32>) -> Promise {
        probabilities_promise(self.net.record_probabilities(&pixels).map_err(js_err))
    }

    /// Resolves to the accuracy on u8 images (784 bytes each) with their labels.
    pub fn evaluate(&self, images: &[u8], labels: &[u8]) -> Promise {
        evaluate_promise(&self.net, images, labels)
    }

    /// Resolves to `[{name, width, height, rgba}]`: the first two conv layers' feature maps
    /// of one 28×28 image.
    #[wasm_bindgen(js_name = featureMaps)]
    pub fn feature_maps(&self, pixels: Vec<f32>) -> Promise {
        feature_maps_promise(&self.net, &pixels)
    }

    /// Resolves to `[{name, width, height, rgba}]`: the first conv layer's filters.
    pub fn filters(&self) -> Promise {
        filters_promise(&self.net)
    }
}

/// Trains a LeNet-5 in the browser with Adam on a small dataset.
#[wasm_bindgen]
pub struct Trainer {
    inner: Rc<RefCell<engine::Trainer>>,
}

#[wasm_bindgen]
impl Trainer {
    /// A fresh LeNet-5 and its training set (u8 images, 784 bytes each, and digit labels).
    #[wasm_bindgen(constructor)]
    pub fn new(
        engine: &Engine,
        images: Vec<u8>,
        labels: Vec<u8>,
        batch_size: usize,
        learning_rate: f32,
        seed: u32,
    ) -> Result<Trainer, JsValue> {
        let t = engine::Trainer::new(&engine.device, images, labels, batch_size, learning_rate, seed as u64)
            .map_err(js_err)?;
        Ok(Trainer { inner: Rc::new(RefCell::new(t)) })
    }

    /// Takes `steps` optimisation steps; resolves to their mean loss.
    #[wasm_bindgen(js_name = trainSteps)]
    pub fn train_steps(&self, steps: usize) -> Promise {
        let read = self.inner.try_borrow_mut().map_err(js_err).and_then(|mut t| t.record_steps(steps).map_err(js_err));
        future_to_promise(async move { Ok(JsValue::from_f64(read?.await.map_err(js_err)? as f64)) })
    }

    /// Resolves to the mean loss (inference mode) on u8 images with their labels.
    pub fn loss(&self, images: &[u8], labels: &[u8]) -> Promise {
        scalar_promise(self.inner.borrow().net().record_loss(images, labels).map_err(js_err))
    }

    /// Optimisation steps taken so far.
    #[wasm_bindgen(getter)]
    pub fn steps(&self) -> f64 {
        self.inner.borrow().steps() as f64
    }

    /// Resolves to 10 probabilities per 28×28 image, from the model being trained.
    pub fn classify(&self, pixels: Vec<f32>) -> Promise {
        let t = self.inner.borrow();
        probabilities_promise(t.net().record_probabilities(&pixels).map_err(js_err))
    }

    /// Resolves to the accuracy on u8 images (784 bytes each) with their labels.
    pub fn evaluate(&self, images: &[u8], labels: &[u8]) -> Promise {
        evaluate_promise(self.inner.borrow().net(), images, labels)
    }

    /// Resolves to `[{name, width, height, rgba}]`: the first two conv layers' feature maps
    /// of one 28×28 image, from the model being trained.
    #[wasm_bindgen(js_name = featureMaps)]
    pub fn feature_maps(&self, pixels: Vec<f32>) -> Promise {
        feature_maps_promise(self.inner.borrow().net(), &pixels)
    }

    /// Resolves to `[{name, width, height, rgba}]`: the first conv layer's filters.
    pub fn filters(&self) -> Promise {
        filters_promise(self.inner.borrow().net())
    }
}

/// MNIST-style 28×28 image (white on black, [0, 1]) from a canvas's RGBA pixels.
#[wasm_bindgen(js_name = mnistFromRgba)]
pub fn mnist_from_rgba(rgba: &[u8], width: usize, height: usize) -> Vec<f32> {
    crate::preprocess::mnist_from_rgba(rgba, width, height)
}
