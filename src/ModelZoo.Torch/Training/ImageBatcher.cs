using ModelZoo.Core.Datasets;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Training;

/// <summary>
/// Turns stored images into model-ready batches: bytes to [0,1] floats, resize to the run's input size, grey to
/// three channels, normalise with the model's mean and std. The resize runs as one tensor op per batch.
/// </summary>
public sealed class ImageBatcher : IBatchSource
{
    readonly ImageSet _images;
    readonly int _size;
    readonly float[] _mean, _std;
    readonly Device _device;

    public ImageBatcher(ImageSet images, int size, IReadOnlyList<double> mean, IReadOnlyList<double> std, Device device)
    {
        if (mean.Count != 3 || std.Count != 3) throw new ArgumentException("Mean and std must have three channels.");
        if (images.Channels is not (1 or 3)) throw new ArgumentException($"Images must have 1 or 3 channels, not {images.Channels}.");
        _images = images; _size = size; _device = device;
        _mean = mean.Select(v => (float)v).ToArray();
        _std = std.Select(v => (float)v).ToArray();
    }

    /// <summary>Images at <paramref name="indices"/> as [B,3,S,S] float and labels as [B] int64, on the device.
    /// Every factory names its device: libtorch's default device is process-wide, and must not decide where a
    /// training batch lands (see TorchRuntime.OnMeta).</summary>
    public (Tensor X, Tensor Y) Batch(ReadOnlySpan<int> indices)
    {
        int n = indices.Length, per = _images.ImageBytes;
        var bytes = new byte[n * per];
        var labels = new long[n];
        for (int i = 0; i < n; i++)
        {
            Array.Copy(_images.Pixels, (long)indices[i] * per, bytes, (long)i * per, per);
            labels[i] = _images.Labels[indices[i]];
        }
        using var scope = NewDisposeScope();
        var x = tensor(bytes, [n, _images.Channels, _images.Height, _images.Width], device: CPU).to(_device).to_type(ScalarType.Float32).div_(255f);
        if (_images.Height != _size || _images.Width != _size)
            x = nn.functional.interpolate(x, size: [_size, _size], mode: InterpolationMode.Bilinear, align_corners: false);
        if (_images.Channels == 1) x = x.expand(n, 3, _size, _size);
        var mean = tensor(_mean, [1, 3, 1, 1], device: CPU).to(_device);
        var std = tensor(_std, [1, 3, 1, 1], device: CPU).to(_device);
        x = (x - mean) / std;
        var y = tensor(labels, device: CPU).to(_device);
        return (x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }
}
