//! A linear probe: multinomial logistic regression on frozen features, trained by full-batch
//! gradient descent on standardised features. Used to check that embeddings keep label
//! information (a collapsed encoder gives chance accuracy).

/// Trains a probe on (`train`, `train_labels`) and returns its accuracy on (`test`,
/// `test_labels`). Features are rows of `dim` values; labels are below `classes`.
pub fn linear_probe_accuracy(
    train: &[f32],
    train_labels: &[u8],
    test: &[f32],
    test_labels: &[u8],
    dim: usize,
    classes: usize,
) -> f64 {
    let n = train_labels.len();
    if n == 0 || dim == 0 || test_labels.is_empty() {
        return 0.0;
    }
    let mean: Vec<f64> = (0..dim)
        .map(|j| (0..n).map(|i| f64::from(train[i * dim + j])).sum::<f64>() / n as f64)
        .collect();
    let std: Vec<f64> = (0..dim)
        .map(|j| {
            let var = (0..n)
                .map(|i| {
                    let c = f64::from(train[i * dim + j]) - mean[j];
                    c * c
                })
                .sum::<f64>()
                / n as f64;
            var.sqrt().max(1e-8)
        })
        .collect();
    let norm = |x: &[f32], i: usize| -> Vec<f64> {
        (0..dim)
            .map(|j| (f64::from(x[i * dim + j]) - mean[j]) / std[j])
            .collect()
    };
    let xs: Vec<Vec<f64>> = (0..n).map(|i| norm(train, i)).collect();
    let mut w = vec![0f64; classes * (dim + 1)];
    let lr = 0.5;
    for _ in 0..300 {
        let mut grad = vec![0f64; w.len()];
        for (x, &y) in xs.iter().zip(train_labels) {
            let p = softmax(&logits(&w, x, dim, classes));
            for c in 0..classes {
                let g = p[c] - if usize::from(y) == c { 1.0 } else { 0.0 };
                let row = &mut grad[c * (dim + 1)..(c + 1) * (dim + 1)];
                row.iter_mut()
                    .zip(x.iter().chain(std::iter::once(&1.0)))
                    .for_each(|(r, &xi)| *r += g * xi);
            }
        }
        w.iter_mut()
            .zip(&grad)
            .for_each(|(wi, gi)| *wi -= lr * gi / n as f64);
    }
    let correct = (0..test_labels.len())
        .filter(|&i| {
            let l = logits(&w, &norm(test, i), dim, classes);
            let best = (0..classes).fold(0, |b, c| if l[c] > l[b] { c } else { b });
            best == usize::from(test_labels[i])
        })
        .count();
    correct as f64 / test_labels.len() as f64
}

fn logits(w: &[f64], x: &[f64], dim: usize, classes: usize) -> Vec<f64> {
    (0..classes)
        .map(|c| {
            let row = &w[c * (dim + 1)..(c + 1) * (dim + 1)];
            row[..dim].iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + row[dim]
        })
        .collect()
}

fn softmax(l: &[f64]) -> Vec<f64> {
    let max = l.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = l.iter().map(|v| libm::exp(v - max)).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}
