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
}
