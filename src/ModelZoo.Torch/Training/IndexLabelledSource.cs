using ModelZoo.Torch.Pipeline;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// The same examples as another source, each batch's <c>Y</c> holding every example's index in the dataset instead of
/// its label (int64, on the CPU). A strategy that learns from examples the run treats as unlabelled reads them through
/// this, so their labels never reach it; it looks up whatever it assigned them (pseudo-labels) by index.
/// </summary>
public sealed class IndexLabelledSource(IBatchSource inner) : IBatchSource
{
    public Prefetcher<TrainingBatch> Train(int[] order, int batchSize, int epoch, int seed, bool augment, CancellationToken ct) =>
        WithIndices(inner.Train(order, batchSize, epoch, seed, augment, ct), order, batchSize, ct);

    public Prefetcher<TrainingBatch> Eval(int[] indices, int batchSize, CancellationToken ct) =>
        WithIndices(inner.Eval(indices, batchSize, ct), indices, batchSize, ct);

    public string Fingerprint => inner.Fingerprint;

    /// <summary>Batch k of every source is examples k·size .. k·size+size-1 of the order it was given, in that order.</summary>
    static Prefetcher<TrainingBatch> WithIndices(Prefetcher<TrainingBatch> batches, int[] order, int batchSize, CancellationToken ct) =>
        // Inline (no workers): the wrapped prefetcher already builds ahead, and Next must take its batches in order.
        new(batches.Count, (k, _) =>
        {
            var batch = batches.Next();
            var start = k * batchSize;
            var indices = order.AsSpan(start, Math.Min(batchSize, order.Length - start)).ToArray().Select(i => (long)i).ToArray();
            var relabelled = new TrainingBatch(batch.X, tensor(indices));
            batch.Y.Dispose();
            return relabelled;
        }, workers: 0, depth: 1, ct, owned: batches);

    /// <summary>The wrapped source belongs to the run, not to this view of it.</summary>
    public void Dispose() { }
}
