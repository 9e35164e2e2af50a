using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Models;

/// <summary>
/// How a text batch travels through the one-tensor model API.
/// <para>
/// A text model needs token ids, a padding mask and token types, but <see cref="ZooModel"/> is a
/// <c>Module&lt;Tensor, Tensor&gt;</c> and the trainer, strategies, FLOP counter and benchmarks only ever hand it one
/// tensor. Rather than a second, text-only path through all of them, a text batch is packed into one int64 tensor
/// <c>[batch, 3, length]</c> (rows: ids, mask, types). Text models accept either that or plain ids
/// <c>[batch, length]</c> (no padding, one segment) in <c>call</c> and <c>ForwardFeatures</c>; the rank tells them
/// apart, and a rank-3 tensor is never a valid ids tensor. A text batcher packs once; nothing else changes.
/// </para>
/// </summary>
public static class TextBatch
{
    public const int Rows = 3;

    /// <summary>Packs ids <c>[B, L]</c> with an optional mask (1 = token, 0 = padding) and token types.</summary>
    public static Tensor Pack(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null)
    {
        if (inputIds.dim() != 2) throw new ArgumentException($"input ids must be [batch, length], got [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        using var scope = NewDisposeScope();
        var ids = inputIds.to(ScalarType.Int64);
        var mask = attentionMask is null ? ones_like(ids) : Check(attentionMask, ids, nameof(attentionMask)).to(ScalarType.Int64);
        var types = tokenTypeIds is null ? zeros_like(ids) : Check(tokenTypeIds, ids, nameof(tokenTypeIds)).to(ScalarType.Int64);
        return stack([ids, mask, types], dim: 1).MoveToOuterDisposeScope();
    }

    /// <summary>Splits a packed batch, or passes plain ids through with a null mask and null types.</summary>
    public static (Tensor InputIds, Tensor? AttentionMask, Tensor? TokenTypeIds) Unpack(Tensor x)
    {
        if (x.dim() == 2) return (x, null, null);
        if (x.dim() == 3 && x.shape[1] == Rows) return (x.select(1, 0), x.select(1, 1), x.select(1, 2));
        throw new ArgumentException(
            $"A text model takes token ids [batch, length] or a packed TextBatch [batch, 3, length]; got [{string.Join(", ", x.shape)}].", nameof(x));
    }

    static Tensor Check(Tensor t, Tensor ids, string name) =>
        t.shape.SequenceEqual(ids.shape) ? t
        : throw new ArgumentException($"{name} must have the shape of the input ids [{string.Join(", ", ids.shape)}], got [{string.Join(", ", t.shape)}].", name);
}
