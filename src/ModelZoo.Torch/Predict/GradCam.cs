using ModelZoo.Torch.Models;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Predict;

/// <summary>
/// A Grad-CAM map (Selvaraju et al., 2017) at the feature map's resolution, row-major, in [0, 1]; all zeros when no
/// location argues for <see cref="TargetClass"/>. <see cref="Stage"/> and <see cref="Module"/> say which activations it
/// explains (the model's <see cref="ZooModel.FeatureStage"/>).
/// </summary>
public sealed record GradCamMap(float[] Values, int Height, int Width, int TargetClass, string Stage, string Module);

/// <summary>One image's class probabilities and the Grad-CAM map of its top class (or of a chosen class).</summary>
public sealed record ImageExplanation(float[] Probabilities, GradCamMap Map);

/// <summary>
/// Grad-CAM through the uniform model API: the activations are <see cref="ZooModel.ForwardFeatures"/>' output (the
/// last convolutional stage for every image architecture) and the logits <see cref="ZooModel.ForwardHead"/> of them,
/// so no architecture needs a hook or a special case. The feature map is detached and made a leaf that requires a
/// gradient: the backward pass then runs through the head only, and the parameters, frozen in a prediction model,
/// receive nothing.
/// </summary>
public static class GradCam
{
    /// <param name="input">One preprocessed image, [1, 3, S, S], on the model's device.</param>
    /// <param name="targetClass">The class to explain; null: the most probable one.</param>
    public static ImageExplanation Explain(ZooModel model, Tensor input, int? targetClass = null)
    {
        if (input.dim() != 4 || input.shape[0] != 1)
            throw new ArgumentException($"Grad-CAM explains one image [1, 3, S, S], not [{string.Join(", ", input.shape)}].", nameof(input));
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        Tensor features;
        using (no_grad()) features = model.ForwardFeatures(input);
        if (features.dim() != 4)
            throw new NotSupportedException($"{model.Architecture}'s features are not a spatial map ([{string.Join(", ", features.shape)}]); Grad-CAM needs one.");
        var leaf = features.detach().requires_grad_(true);
        var logits = model.ForwardHead(leaf);
        var probabilities = nn.functional.softmax(logits.detach(), 1)[0].cpu().data<float>().ToArray();
        var c = targetClass ?? ArgMax(probabilities);
        if (c < 0 || c >= probabilities.Length) throw new ArgumentOutOfRangeException(nameof(targetClass), c, $"The model has {probabilities.Length} classes.");
        logits[0, c].backward();
        var gradients = leaf.grad ?? throw new InvalidOperationException("The head gave the feature map no gradient.");
        using (no_grad())
        {
            // Channel weights: the spatial mean of each channel's gradient; the map: ReLU of the weighted sum of channels.
            var weights = gradients.mean([2, 3], keepdim: true);
            var cam = nn.functional.relu((weights * leaf).sum(1L))[0].to(ScalarType.Float32).cpu();
            var max = cam.max().item<float>();
            // A map with no positive evidence stays zero rather than dividing by zero; a non-finite maximum (an
            // overflowing activation) is refused rather than drawn.
            if (!float.IsFinite(max)) throw new InvalidOperationException($"{model.Architecture}'s Grad-CAM map is not finite.");
            if (max > 0) cam = cam / max;
            int h = (int)cam.shape[0], w = (int)cam.shape[1];
            var values = cam.contiguous().data<float>().ToArray();
            return new ImageExplanation(probabilities, new GradCamMap(values, h, w, c, model.FeatureStage, model.FeatureModule));
        }
    }

    /// <summary>The map bilinearly resized to <paramref name="height"/> x <paramref name="width"/> (align_corners
    /// false, as torchvision and the usual Grad-CAM code upsample), clamped to [0, 1].</summary>
    public static float[] Upsample(GradCamMap map, int height, int width)
    {
        using var scope = NewDisposeScope();
        var x = tensor(map.Values, [1, 1, map.Height, map.Width], device: CPU);
        var y = nn.functional.interpolate(x, size: [height, width], mode: InterpolationMode.Bilinear, align_corners: false);
        return y.clamp_(0, 1).contiguous().data<float>().ToArray();
    }

    static int ArgMax(float[] p)
    {
        int best = 0;
        for (int i = 1; i < p.Length; i++) if (p[i] > p[best]) best = i;
        return best;
    }
}
