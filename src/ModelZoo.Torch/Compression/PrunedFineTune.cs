using ModelZoo.Core.Runs;
using ModelZoo.Core.Training;
using ModelZoo.Torch.Training;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Compression;

/// <summary>
/// The short fine-tune after pruning: every parameter of the pruned model trains on the run's training examples, in
/// the run's batch size, optimiser and augmentation, with plain cross-entropy, at a constant
/// <see cref="LearningRateFactor"/> of the run's learning rate. Measured (docs/benchmarks.md, issue 15): at the run's
/// own peak rate, one epoch with a fresh AdamW state took an unpruned ResNet-18 on optdigits from 98.5 % to 87.4 %;
/// the run's warm-up-cosine schedule ended near zero, and restarting at its peak undoes part of the training. The mask is held fixed: the pruned weights' gradients are zeroed before
/// each step and the weights set to zero again after it (AdamW's weight decay and momentum would otherwise move them).
/// This is not the run's strategy (a feature-extraction run froze its backbone; here all of it learns): recovering
/// accuracy after pruning needs the layers that lost weights to adapt.
/// </summary>
public static class PrunedFineTune
{
    /// <summary>The fine-tune's learning rate as a fraction of the run's (constant, no warm-up).</summary>
    public const double LearningRateFactor = 0.1;

    /// <returns>The mean training loss of each epoch.</returns>
    public static IReadOnlyList<double> Run(Models.ZooModel model, PruningMasks masks, IBatchSource source, int[] trainIndices, HyperParameters h,
        int epochs, CancellationToken ct)
    {
        var losses = new List<double>();
        if (epochs <= 0 || trainIndices.Length == 0) return losses;
        var parameters = model.parameters().ToList();
        foreach (var p in parameters) p.requires_grad = true;
        using var optimization = Optimization.Create(h, [new ParameterGroupSpec("all", parameters)]);
        optimization.SetRate(h.LearningRate, LearningRateFactor);
        masks.Apply(model);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            random.manual_seed(TrainingSelection.Seed(h.Seed, epoch, 0xC0E));
            model.train();
            var order = TrainingSelection.EpochOrder(trainIndices, h.Seed ^ 0x5EED, epoch);
            using var batches = source.Train(order, h.BatchSize, epoch, h.Seed, h.Augment, ct);
            double sum = 0; long seen = 0;
            for (int b = 0; b < batches.Count; b++)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using var batch = batches.Next();
                var loss = nn.functional.cross_entropy(model.call(batch.X), batch.Y);
                optimization.Optimizer.zero_grad();
                loss.backward();
                masks.MaskGradients(model);
                optimization.Optimizer.step();
                masks.Apply(model);
                sum += loss.item<float>() * batch.Count;
                seen += batch.Count;
            }
            losses.Add(seen == 0 ? double.NaN : sum / seen);
        }
        model.eval();
        foreach (var p in parameters) p.requires_grad = false;
        return losses;
    }
}
