using ModelZoo.Torch.Models;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Compression;

/// <summary>Where the sparsity target applies: one threshold over every prunable weight (layers that hold many
/// small weights lose more), or the same fraction in each layer.</summary>
public enum PruningScope { Global, Layer }

/// <summary>One pruned layer: its weight's key, size, weights set to zero and the sparsity that gives.</summary>
public sealed record LayerSparsityReport(string Key, long Parameters, long Zeros)
{
    public double Sparsity => Parameters == 0 ? 0 : (double)Zeros / Parameters;
}

/// <summary>
/// Unstructured magnitude pruning of a model's conv and linear weights (Han et al. 2015; PyTorch's
/// <c>l1_unstructured</c> and <c>global_unstructured</c>): the weights of smallest absolute value are set to zero,
/// exactly <c>floor(sparsity × n)</c> of them, n counted over all prunable weights (global) or per layer. Ties are
/// broken by position, so the count is exact even when many weights are equal (a fine-tune may leave exact zeros).
/// The masks (1 = kept) are kept so a fine-tune can hold the pruned weights at zero.
/// </summary>
public sealed class PruningMasks : IDisposable
{
    public const double MaxSparsity = 0.99;

    readonly Dictionary<string, Tensor> _masks;

    PruningMasks(Dictionary<string, Tensor> masks) => _masks = masks;

    public IReadOnlyDictionary<string, Tensor> Masks => _masks;

    /// <summary>Why <paramref name="sparsity"/> is refused (naming the option), or null when it is in [0, 0.99].</summary>
    public static string? Problem(double sparsity) =>
        double.IsFinite(sparsity) && sparsity is >= 0 and <= MaxSparsity ? null
            : $"sparsity must be between 0 and {MaxSparsity} (the fraction of conv and linear weights set to zero), not {sparsity}.";

    /// <summary>The conv and linear weights of <paramref name="model"/> (state_dict keys), in module order: a module's
    /// own <c>weight</c> of two or more dimensions, embedding tables excepted. Not a test of the module's class: the zoo
    /// has convolutions of its own (ResNet's downsample <c>PointwiseConv</c>), and norms' weights are one-dimensional.</summary>
    public static IReadOnlyList<(string Key, Parameter Weight)> PrunableWeights(nn.Module model)
    {
        var list = new List<(string, Parameter)>();
        foreach (var (name, module) in model.named_modules())
        {
            if (module is Embedding or EmbeddingBag) continue;
            foreach (var (pname, p) in module.named_parameters(recurse: false))
                if (pname == "weight" && p.dim() >= 2) list.Add((name.Length == 0 ? "weight" : name + ".weight", p));
        }
        return list;
    }

    /// <summary>Masks for the conv and linear weights of <paramref name="model"/> (<see cref="PrunableWeights"/>).</summary>
    public static PruningMasks Compute(nn.Module model, double sparsity, PruningScope scope) =>
        Compute(PrunableWeights(model).Select(w => (w.Key, (Tensor)w.Weight)).ToList(), sparsity, scope);

    /// <summary>Masks for <paramref name="weights"/> at <paramref name="sparsity"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The sparsity is outside [0, 0.99]; the message names it.</exception>
    public static PruningMasks Compute(IReadOnlyList<(string Key, Tensor Weight)> weights, double sparsity, PruningScope scope)
    {
        if (Problem(sparsity) is { } problem) throw new ArgumentOutOfRangeException(nameof(sparsity), sparsity, problem);
        var masks = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var _ = no_grad();
        try
        {
            if (scope == PruningScope.Layer)
                foreach (var (key, w) in weights)
                    masks.Add(key, MaskOf(w.detach().abs().flatten(), sparsity).reshape(w.shape));
            else
            {
                using var all = cat(weights.Select(w => w.Weight.detach().abs().flatten().cpu()).ToArray());
                using var flat = MaskOf(all, sparsity);
                long offset = 0;
                foreach (var (key, w) in weights)
                {
                    masks.Add(key, flat.narrow(0, offset, w.numel()).clone().reshape(w.shape).to(w.device));
                    offset += w.numel();
                }
            }
            return new PruningMasks(masks);
        }
        catch
        {
            foreach (var m in masks.Values) m.Dispose();
            throw;
        }
    }

    /// <summary>A float mask over flat |w| with exactly floor(sparsity × n) zeros at the smallest values (stable
    /// sort: among equal values the earlier position is pruned first).</summary>
    static Tensor MaskOf(Tensor magnitudes, double sparsity)
    {
        using var scope = NewDisposeScope();
        long n = magnitudes.numel();
        long k = (long)Math.Floor(sparsity * n);
        var mask = ones(n, dtype: ScalarType.Float32, device: magnitudes.device);
        if (k > 0)
        {
            var (_, order) = magnitudes.to_type(ScalarType.Float32).sort(stable: true);
            mask.index_fill_(0, order.narrow(0, 0, k), 0f);
        }
        return mask.MoveToOuterDisposeScope();
    }

    /// <summary>Sets the pruned weights of <paramref name="model"/> to zero (again, after an optimiser step).</summary>
    public void Apply(nn.Module model)
    {
        using var _ = no_grad();
        foreach (var (key, w) in PrunableWeights(model))
            if (_masks.TryGetValue(key, out var mask)) w.mul_(mask.to(w.device));
    }

    /// <summary>Zeroes the gradients of the pruned weights, so momentum never builds up behind a pruned weight.</summary>
    public void MaskGradients(nn.Module model)
    {
        using var _ = no_grad();
        foreach (var (key, w) in PrunableWeights(model))
            if (w.grad is { } g && _masks.TryGetValue(key, out var mask)) g.mul_(mask.to(g.device));
    }

    /// <summary>The zeros each prunable weight of <paramref name="model"/> holds now, measured on the weights (not the masks).</summary>
    public static IReadOnlyList<LayerSparsityReport> Measure(nn.Module model) =>
        PrunableWeights(model).Select(w => new LayerSparsityReport(w.Key, w.Weight.numel(), CountZeros(w.Weight))).ToList();

    static long CountZeros(Tensor t)
    {
        using var _ = no_grad();
        using var z = t.eq(0).sum();
        return z.item<long>();
    }

    public void Dispose()
    {
        foreach (var m in _masks.Values) m.Dispose();
        _masks.Clear();
    }
}
