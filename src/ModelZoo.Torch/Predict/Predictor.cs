using ModelZoo.Torch.Models;
using ModelZoo.Torch.Training;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Predict;

/// <summary>What a model says about one input: its class probabilities in output order and, for an image model
/// asked to explain, the Grad-CAM map of the top class.</summary>
public sealed record ModelPrediction(float[] Probabilities, GradCamMap? Map);

/// <summary>
/// Runs a trained model on the first example of a batch source, through the source's evaluation batches (the path
/// the run's test evaluation took), so an uploaded input is prepared exactly as the test split was.
/// </summary>
public static class Predictor
{
    public static ModelPrediction Predict(TrainedModel trained, IBatchSource source, bool explain, CancellationToken ct = default)
    {
        using var batches = source.Eval([0], 1, ct);
        using var batch = batches.Next();
        var model = trained.Model;
        if (explain && trained.Architecture.Modality == Modality.Image)
        {
            var e = GradCam.Explain(model, batch.X);
            return new ModelPrediction(e.Probabilities, e.Map);
        }
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var probabilities = nn.functional.softmax(model.call(batch.X), 1)[0].to(ScalarType.Float32).cpu().data<float>().ToArray();
        return new ModelPrediction(probabilities, null);
    }

    /// <summary>
    /// Every example of <paramref name="indices"/> through the source's evaluation batches, in order and in batches of
    /// <paramref name="batchSize"/> (pass <see cref="Evaluator.BatchSize"/> to form the batches the test evaluation
    /// formed: a text batch is padded to its longest text): the most probable class of each and its softmax probability.
    /// </summary>
    public static (int[] Predicted, float[] Confidence) PredictAll(TrainedModel trained, IBatchSource source, int[] indices, int batchSize,
        CancellationToken ct = default)
    {
        var predicted = new int[indices.Length];
        var confidence = new float[indices.Length];
        if (indices.Length == 0) return (predicted, confidence);
        var model = trained.Model;
        using var _ = no_grad();
        using var batches = source.Eval(indices, batchSize, ct);
        int k = 0;
        for (int b = 0; b < batches.Count; b++)
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            using var batch = batches.Next();
            var (conf, pred) = nn.functional.softmax(model.call(batch.X), 1).max(1);
            var p = pred.cpu().data<long>().ToArray();
            var c = conf.to(ScalarType.Float32).cpu().data<float>().ToArray();
            for (int i = 0; i < p.Length; i++, k++) (predicted[k], confidence[k]) = ((int)p[i], c[i]);
        }
        if (k != indices.Length) throw new InvalidOperationException($"The source gave {k} examples for {indices.Length} indices.");
        return (predicted, confidence);
    }
}
