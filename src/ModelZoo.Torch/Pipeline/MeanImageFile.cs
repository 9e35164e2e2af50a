using ModelZoo.Core.Catalog;
using ModelZoo.Torch.Weights;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Pipeline;

/// <summary>
/// Reads an entry's mean image (<see cref="MeanImageInfo"/>): checks the file's sha256 against the manifest and its
/// shape against the input size, and resizes it to the run's size.
/// </summary>
/// <remarks>
/// At another input size the mean image is resized with the entry's own interpolation, antialiased when shrinking,
/// exactly as <see cref="ResizeCache"/> resizes images but kept in float (no rounding to bytes). Resizing is linear,
/// so that is the mean of the model's input-size frames resized the same way; the pipeline resizes the originals to
/// the run's size directly instead, which differs from that only by the two resizes' rounding.
/// </remarks>
public static class MeanImageFile
{
    /// <summary>The mean image as [3 * size * size] floats, channel-major, in the model's channel order.</summary>
    /// <exception cref="InvalidOperationException">The file is missing, is not the manifest's (sha256), or holds no
    /// tensor of the stated name and shape; the message names the file.</exception>
    public static float[] Load(string path, MeanImageInfo info, int inputSize, int size, ResizeInterpolation interpolation)
    {
        if (!File.Exists(path)) throw new InvalidOperationException($"Mean image {path} is missing.");
        var sha = Sha256.OfFile(path);
        if (!string.Equals(sha, info.Sha256, StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Mean image {path}: sha256 {sha} differs from the manifest's {info.Sha256}; the file was changed or damaged.");
        Dictionary<string, Tensor> tensors;
        try { tensors = SafeTensors.Load(path); }
        catch (WeightsFormatException e) { throw new InvalidOperationException($"Mean image {e.Message}", e); }
        try
        {
            if (!tensors.TryGetValue(info.Tensor, out var t))
                throw new InvalidOperationException($"Mean image {path} holds no tensor '{info.Tensor}' (it has {string.Join(", ", tensors.Keys)}).");
            var shape = t.shape;
            if (shape.Length == 4 && shape[0] == 1) shape = shape[1..];
            if (shape is not [3, var h, var w] || h != inputSize || w != inputSize)
                throw new InvalidOperationException(
                    $"Mean image {path}: tensor '{info.Tensor}' is {TensorDtypes.Format(t.shape)}; the model's input needs [3, {inputSize}, {inputSize}] (or with a leading 1).");
            using var scope = NewDisposeScope();
            var x = t.to_type(ScalarType.Float32).reshape(1, 3, inputSize, inputSize);
            if (size != inputSize)
            {
                var mode = interpolation switch
                {
                    ResizeInterpolation.Nearest => InterpolationMode.Nearest,
                    ResizeInterpolation.Bicubic => InterpolationMode.Bicubic,
                    _ => InterpolationMode.Bilinear,
                };
                x = nn.functional.interpolate(x, size: [size, size], mode: mode,
                    align_corners: interpolation == ResizeInterpolation.Nearest ? null : false,
                    antialias: interpolation != ResizeInterpolation.Nearest && size < inputSize);
            }
            return x.contiguous().data<float>().ToArray();
        }
        finally { TensorDtypes.DisposeAll(tensors.Values); }
    }
}
