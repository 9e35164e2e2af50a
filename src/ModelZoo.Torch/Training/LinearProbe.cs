using System.Numerics;
using System.Runtime.InteropServices;

namespace ModelZoo.Torch.Training;

/// <summary>
/// Multinomial logistic regression on a few feature vectors, trained by full-batch Adam from zero: the few-shot
/// episodes' linear head. The objective is the mean cross-entropy plus ‖W‖² / (2n) (the bias is not decayed), which is
/// scikit-learn's <c>LogisticRegression(C=1)</c> objective divided by n; Adam follows PyTorch's update (β 0.9 and
/// 0.999, ε 1e-8, bias corrections).
/// <para>
/// It runs in managed code, not libtorch, on purpose: an episode's head is a few hundred vectors, and 100 steps of
/// autograd and an optimiser are ~4,000 tiny libtorch calls. On the shared 2-core machine (load average 12-20) with
/// libgomp's default spin-waiting, calls that enter an OpenMP region waited for a descheduled worker thread: a 5-way
/// 5-shot head on 512 features took 2.1-3.3 s at 2 threads, 52 ms at 1 thread and 117 ms at 2 threads with
/// <c>OMP_WAIT_POLICY=PASSIVE</c> (<c>modelzoo bench fewshot</c>). Here it takes 7 ms at 1 thread and 64 ms at 2 (the
/// rest is the few libtorch calls that normalise and copy the features), touches no process-wide thread setting, and
/// gives the same bits on every machine. A test checks it against libtorch's Adam on the same objective.
/// </para>
/// </summary>
public static class LinearProbe
{
    /// <summary>A trained head: <c>[classes, dim]</c> weights (row-major) and biases.</summary>
    public sealed record Head(float[] Weights, float[] Bias, int Classes, int Dim)
    {
        /// <summary>The class with the largest logit for each row of <paramref name="x"/> (<c>[n, dim]</c>, row-major).</summary>
        public int[] Predict(float[] x)
        {
            var n = x.Length / Dim;
            var predicted = new int[n];
            for (int i = 0; i < n; i++)
            {
                var row = x.AsSpan(i * Dim, Dim);
                int best = 0; double bestLogit = double.NegativeInfinity;
                for (int c = 0; c < Classes; c++)
                {
                    var logit = Dot(Weights.AsSpan(c * Dim, Dim), row) + Bias[c];
                    if (logit > bestLogit) { bestLogit = logit; best = c; }
                }
                predicted[i] = best;
            }
            return predicted;
        }
    }

    /// <param name="x"><c>[n, dim]</c> features, row-major.</param>
    /// <param name="y">n labels in 0..classes-1.</param>
    public static Head Fit(float[] x, int[] y, int dim, int classes, int steps, double learningRate)
    {
        int n = y.Length;
        if (n == 0 || x.Length != n * dim) throw new ArgumentException($"{x.Length} feature values for {n} examples of {dim}.", nameof(x));
        if (y.Any(c => (uint)c >= (uint)classes)) throw new ArgumentException($"Labels must be 0..{classes - 1}.", nameof(y));
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        var w = new float[classes * dim]; var b = new float[classes];
        var gw = new float[classes * dim]; var gb = new float[classes];
        var mw = new float[classes * dim]; var vw = new float[classes * dim];
        var mb = new float[classes]; var vb = new float[classes];
        var p = new double[classes];
        for (int t = 1; t <= steps; t++)
        {
            Array.Clear(gw); Array.Clear(gb);
            for (int i = 0; i < n; i++)
            {
                var row = x.AsSpan(i * dim, dim);
                double max = double.NegativeInfinity, sum = 0;
                for (int c = 0; c < classes; c++) { p[c] = Dot(w.AsSpan(c * dim, dim), row) + b[c]; max = Math.Max(max, p[c]); }
                for (int c = 0; c < classes; c++) { p[c] = Math.Exp(p[c] - max); sum += p[c]; }
                for (int c = 0; c < classes; c++)
                {
                    var g = (float)((p[c] / sum - (y[i] == c ? 1 : 0)) / n);
                    gb[c] += g;
                    Axpy(g, row, gw.AsSpan(c * dim, dim));
                }
            }
            Axpy(1f / n, w, gw);  // the gradient of ‖W‖² / (2n)
            var bc1 = 1 - Math.Pow(beta1, t);
            var bc2 = Math.Sqrt(1 - Math.Pow(beta2, t));
            AdamStep(w, gw, mw, vw, learningRate / bc1, bc2, beta1, beta2, eps);
            AdamStep(b, gb, mb, vb, learningRate / bc1, bc2, beta1, beta2, eps);
        }
        return new Head(w, b, classes, dim);
    }

    /// <summary>PyTorch's Adam: θ -= lr/bc1 · m / (√v / √bc2 + ε).</summary>
    static void AdamStep(float[] theta, float[] g, float[] m, float[] v, double stepSize, double sqrtBc2, double beta1, double beta2, double eps)
    {
        for (int j = 0; j < theta.Length; j++)
        {
            m[j] = (float)(beta1 * m[j] + (1 - beta1) * g[j]);
            v[j] = (float)(beta2 * v[j] + (1 - beta2) * g[j] * g[j]);
            theta[j] -= (float)(stepSize * m[j] / (Math.Sqrt(v[j]) / sqrtBc2 + eps));
        }
    }

    static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var va = MemoryMarshal.Cast<float, Vector<float>>(a);
        var vb = MemoryMarshal.Cast<float, Vector<float>>(b);
        var acc = Vector<float>.Zero;
        for (int k = 0; k < va.Length; k++) acc += va[k] * vb[k];
        double sum = Vector.Sum(acc);
        for (int k = va.Length * Vector<float>.Count; k < a.Length; k++) sum += a[k] * b[k];
        return sum;
    }

    /// <summary>y += a·x.</summary>
    static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        var vx = MemoryMarshal.Cast<float, Vector<float>>(x);
        var vy = MemoryMarshal.Cast<float, Vector<float>>(y);
        var va = new Vector<float>(a);
        for (int k = 0; k < vx.Length; k++) vy[k] += va * vx[k];
        for (int k = vx.Length * Vector<float>.Count; k < x.Length; k++) y[k] += a * x[k];
    }
}
