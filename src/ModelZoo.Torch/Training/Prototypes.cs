using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// Nearest-prototype classification by cosine similarity, shared by the few-shot strategy and the episode evaluator
/// so both score alike. Embeddings are scaled to unit length first: a backbone's pooled features vary in length with
/// contrast and image size, which says little about the class, and the unit mean of unit vectors weighs every support
/// example equally. A prototype is the mean of its class's unit embeddings, re-normalised (Chen et al.'s
/// Meta-Baseline; Snell et al. compared unnormalised means by squared Euclidean distance); since the score is a
/// cosine, the re-normalisation is what the score sees either way.
/// </summary>
public static class Prototypes
{
    /// <summary>Rows scaled to unit L2 length (an all-zero row stays zero).</summary>
    public static Tensor Normalize(Tensor rows) => nn.functional.normalize(rows.to(ScalarType.Float32), p: 2, dim: 1, eps: 1e-12);

    /// <summary>[classes, D]: each class's mean unit embedding, re-normalised. A class without examples gets a zero
    /// row (cosine 0 with everything); callers refuse that case before.</summary>
    /// <param name="embeddings">[N, D] features.</param>
    /// <param name="labels">[N] int64 classes 0..classes-1.</param>
    public static Tensor Of(Tensor embeddings, Tensor labels, int classes)
    {
        using var scope = NewDisposeScope();
        var unit = Normalize(embeddings);
        var onehot = nn.functional.one_hot(labels, classes).to(ScalarType.Float32);  // [N, C]
        var sums = onehot.t().matmul(unit);                                          // [C, D]
        var counts = onehot.sum(0, keepdim: true).t().clamp_min(1);                 // [C, 1]
        return Normalize(sums / counts).MoveToOuterDisposeScope();
    }

    /// <summary>[N, classes]: <paramref name="scale"/> × the cosine similarity of each embedding to each prototype.</summary>
    public static Tensor Logits(Tensor embeddings, Tensor prototypes, double scale)
    {
        using var scope = NewDisposeScope();
        return Normalize(embeddings).matmul(prototypes.t()).mul(scale).MoveToOuterDisposeScope();
    }
}
