using ModelZoo.Core.Runs;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>One evaluation's numbers: mean loss, accuracy, the confusion matrix (row = true class) and calibration.</summary>
public sealed record EvaluationResult(double Loss, double Accuracy, int[][] Confusion, Calibration Calibration, int Examples);

/// <summary>Evaluates a strategy's predictions on labelled examples, in eval mode without gradients.</summary>
public static class Evaluator
{
    public const int BatchSize = 256;

    public static EvaluationResult Run(RunContext run, TrainingStrategy strategy, EvaluationSet set)
    {
        var classes = set.Classes ?? run.Classes;
        var confusion = Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
        var calibration = new ClassificationMetrics.CalibrationAccumulator();
        if (set.Indices.Length == 0) return new EvaluationResult(double.NaN, 0, confusion, calibration.Result(), 0);
        run.Model.eval();
        using var _ = no_grad();
        double lossSum = 0; long correct = 0;
        using var batches = set.Source.Eval(set.Indices, BatchSize, run.Cancellation);
        for (int b = 0; b < batches.Count; b++)
        {
            run.Cancellation.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var batch = batches.Next();
            var logits = set.Predict is { } predict ? predict(batch) : strategy.Predict(run, batch);
            // Plain cross-entropy: the reported loss is comparable between runs whatever their smoothing or weights.
            lossSum += nn.functional.cross_entropy(logits, batch.Y, reduction: nn.Reduction.Sum).item<float>();
            var (confidence, predicted) = nn.functional.softmax(logits, 1).max(1);
            var pred = predicted.cpu().data<long>().ToArray();
            var conf = confidence.cpu().data<float>().ToArray();
            var truth = batch.Y.cpu().data<long>().ToArray();
            for (int i = 0; i < pred.Length; i++)
            {
                if (truth[i] < 0 || truth[i] >= classes)
                    throw new InvalidOperationException($"Evaluation example with label {truth[i]}: evaluation sets must be labelled (0 to {classes - 1}).");
                confusion[truth[i]][pred[i]]++;
                var hit = pred[i] == truth[i];
                if (hit) correct++;
                calibration.Add(conf[i], hit);
            }
        }
        return new EvaluationResult(lossSum / set.Indices.Length, (double)correct / set.Indices.Length, confusion, calibration.Result(), set.Indices.Length);
    }
}
