using ModelZoo.Torch.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training.Strategies;

/// <summary>What a re-estimation measured: how many BatchNorm layers, images and batches.</summary>
public sealed record BatchNormReestimation(int Layers, int Examples, int Batches);

/// <summary>
/// Measures every BatchNorm layer's running mean and variance again on some images (AdaBN), without changing a
/// parameter. The network runs under no_grad in inference mode except its BatchNorm layers, which normalise each batch
/// by its own statistics as in training, so every layer sees inputs shaped by the new domain. A forward pre-hook on each
/// layer sums its inputs' per-channel moments in float64 (Chan's parallel update); the running statistics become the
/// mean and unbiased variance over all images exactly. BatchNorm's own cumulative average (momentum None) would weight
/// every batch alike, so a short last batch would count as much as a full one, and it would average per-batch
/// variances, missing the spread between batch means.
/// </summary>
public static class BatchNormStatistics
{
    public static BatchNormReestimation Reestimate(ZooModel model, IBatchSource source, int[] indices, int batchSize, CancellationToken ct)
    {
        var layers = model.named_modules().Where(m => m.module is BatchNorm).Select(m => (m.name, Layer: (BatchNorm)m.module)).ToList();
        if (layers.Count == 0) throw new InvalidOperationException($"{model.Architecture} has no BatchNorm layers to re-estimate.");
        // BatchNorm in training mode needs more than one value per channel, which a lone last image on a 1x1 map lacks.
        if (indices.Length % batchSize == 1) indices = indices[..^1];
        if (indices.Length < 2) throw new InvalidOperationException("BatchNorm statistics need at least 2 images.");

        var device = layers[0].Layer.running_mean?.device ?? CPU;
        var moments = layers.Select(l => new Moments(l.Layer.num_features, device)).ToArray();
        var hooks = layers.Select((l, i) => l.Layer.register_forward_pre_hook((_, x) => { moments[i].Add(x); return x; })).ToList();
        int batches = 0;
        try
        {
            model.eval();
            foreach (var (_, layer) in layers) { layer.reset_running_stats(); layer.train(); }
            using var noGrad = no_grad();
            using var stream = source.Eval(indices, batchSize, ct);
            for (; batches < stream.Count; batches++)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = stream.Next();
                model.call(batch.X);
            }
            foreach (var (i, (name, layer)) in layers.Index())
            {
                if (moments[i].Count < 2)
                    throw new InvalidOperationException($"BatchNorm layer '{name}' saw no input while its statistics were measured: its module calls it without hooks (forward instead of call).");
                if (layer.running_mean is null || layer.running_var is null)
                    throw new InvalidOperationException($"BatchNorm layer '{name}' keeps no running statistics (track_running_stats is off).");
                using var variance = moments[i].UnbiasedVariance();
                layer.running_mean.copy_(moments[i].Mean);
                layer.running_var.copy_(variance);
            }
        }
        finally
        {
            foreach (var h in hooks) h.remove();
            foreach (var m in moments) m.Dispose();
            model.eval();
        }
        return new BatchNormReestimation(layers.Count, indices.Length, batches);
    }

    /// <summary>Per-channel count, mean and sum of squared deviations of a layer's inputs so far, in float64.</summary>
    sealed class Moments(long channels, Device device) : IDisposable
    {
        public long Count { get; private set; }
        public Tensor Mean { get; } = zeros(channels, ScalarType.Float64, device);
        readonly Tensor _m2 = zeros(channels, ScalarType.Float64, device);

        public void Add(Tensor input)
        {
            using var scope = NewDisposeScope();
            var c = input.shape[1];
            var dims = Enumerable.Range(0, (int)input.dim()).Where(d => d != 1).Select(d => (long)d).ToArray();
            var shape = Enumerable.Range(0, (int)input.dim()).Select(d => d == 1 ? c : 1L).ToArray();
            var x = input.detach().to(ScalarType.Float64);
            long n = input.numel() / c;
            var batchMean = x.mean(dims);
            var batchM2 = x.sub(batchMean.view(shape)).square().sum(dims);
            // Chan et al.: merge two groups' means and squared deviations without revisiting either.
            var total = Count + n;
            var delta = batchMean.sub(Mean);
            _m2.add_(batchM2.add(delta.square().mul((double)Count * n / total)));
            Mean.add_(delta.mul((double)n / total));
            Count = total;
        }

        public Tensor UnbiasedVariance() => _m2.div(Count - 1);

        public void Dispose() { Mean.Dispose(); _m2.Dispose(); }
    }
}
