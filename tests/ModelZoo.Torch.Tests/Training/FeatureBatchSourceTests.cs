using ModelZoo.Torch.Training;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Training;

/// <summary>Batches of cached features: the rows and labels of the examples asked for, in their order, owned by the
/// holder. Made on the caller's thread since issue 11; these are the batches the worker thread made before.</summary>
public sealed class FeatureBatchSourceTests
{
    /// <summary>Seven examples (dataset indices 10-16) whose rows lie in the table in another order, and labels for a
    /// dataset of 20.</summary>
    static (FeatureTable Table, int[] Labels) Table()
    {
        var features = arange(7 * 4, dtype: ScalarType.Float32).reshape(7, 4);
        int[] rowOf = [3, 0, 6, 1, 5, 2, 4];
        var rows = Enumerable.Range(0, 7).ToDictionary(i => 10 + i, i => rowOf[i]);
        var labels = Enumerable.Range(0, 20).Select(i => (i * 7) % 5).ToArray();
        return (new FeatureTable(features, rows), labels);
    }

    [Fact]
    public void TrainingBatches_AreTheRowsAndLabelsOfTheOrder_InBatchesOfTheSize_TheLastOneShort()
    {
        var (table, labels) = Table();
        using var _ = table;
        using var source = new FeatureBatchSource(table, labels, CPU);
        int[] order = [16, 10, 13, 11, 15, 12, 14];
        using var batches = source.Train(order, 3, epoch: 1, seed: 1, augment: false, CancellationToken.None);
        batches.Count.ShouldBe(3);
        var seen = new List<int>();
        for (int b = 0; b < 3; b++)
        {
            using var batch = batches.Next();
            var idx = order.Skip(b * 3).Take(3).ToArray();
            batch.Count.ShouldBe(idx.Length);
            for (int i = 0; i < idx.Length; i++)
            {
                batch.X[i].data<float>().ToArray().ShouldBe(table.Features[table.Rows[idx[i]]].data<float>().ToArray());
                batch.Y[i].item<long>().ShouldBe(labels[idx[i]]);
            }
            batch.X.dtype.ShouldBe(ScalarType.Float32);
            batch.Y.dtype.ShouldBe(ScalarType.Int64);
            seen.AddRange(idx);
        }
        seen.ShouldBe(order);
    }

    [Fact]
    public void EvaluationBatches_AreTheSameGather_AsTrainingBatchesOfTheSameIndices()
    {
        var (table, labels) = Table();
        using var _ = table;
        using var source = new FeatureBatchSource(table, labels, CPU);
        int[] indices = [12, 14, 10, 16];
        using var train = source.Train(indices, 4, 1, 1, false, CancellationToken.None);
        using var eval = source.Eval(indices, 4, CancellationToken.None);
        using var a = train.Next();
        using var b = eval.Next();
        a.X.data<float>().ToArray().ShouldBe(b.X.data<float>().ToArray());
        a.Y.data<long>().ToArray().ShouldBe(b.Y.data<long>().ToArray());
    }

    /// <summary>The trainer takes a batch inside its step's dispose scope; the batch is its holder's, so it outlives
    /// that scope until the holder disposes it, as a batch from a worker thread did.</summary>
    [Fact]
    public void ABatchTakenInsideADisposeScope_BelongsToItsHolder_NotToTheScope()
    {
        var (table, labels) = Table();
        using var _ = table;
        using var source = new FeatureBatchSource(table, labels, CPU);
        using var batches = source.Train([11, 12], 2, 1, 1, false, CancellationToken.None);
        TrainingBatchHolder holder;
        using (NewDisposeScope()) holder = new(batches.Next());
        using var batch = holder.Batch;
        batch.X.IsInvalid.ShouldBeFalse();
        batch.X[1].data<float>().ToArray().ShouldBe(table.Features[table.Rows[12]].data<float>().ToArray());
    }

    sealed record TrainingBatchHolder(ModelZoo.Torch.Pipeline.TrainingBatch Batch);
}
