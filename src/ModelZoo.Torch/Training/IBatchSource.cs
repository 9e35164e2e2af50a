using ModelZoo.Torch.Pipeline;

namespace ModelZoo.Torch.Training;

/// <summary>
/// Where the trainer's batches come from: images (<see cref="ImagePipeline"/>) or texts (<see cref="TextBatcher"/>).
/// The loop asks for an epoch's batches in an order, or for evaluation batches; how they are built (augmented,
/// prefetched, tokenised) is the source's concern. Batches arrive in order through a <see cref="Prefetcher{T}"/>.
/// </summary>
public interface IBatchSource : IDisposable
{
    /// <summary>The training batches of one epoch in <paramref name="order"/>; augmented when the source supports it
    /// and <paramref name="augment"/> is set, seeded by (<paramref name="seed"/>, <paramref name="epoch"/>).</summary>
    Prefetcher<TrainingBatch> Train(int[] order, int batchSize, int epoch, int seed, bool augment, CancellationToken ct);

    /// <summary>Evaluation batches of <paramref name="indices"/> in order, never augmented.</summary>
    Prefetcher<TrainingBatch> Eval(int[] indices, int batchSize, CancellationToken ct);

    /// <summary>Identifies the examples and their evaluation preprocessing: sources with equal fingerprints give the
    /// model equal inputs for every index, so features computed from one serve the other (the feature cache's key).</summary>
    string Fingerprint { get; }
}
