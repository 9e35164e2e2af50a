using ModelZoo.Core.Catalog;
using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Pipeline;

/// <summary>One batch on the run's device: inputs (images [B,3,S,S] float, or a packed text batch [B,3,L] int64) and
/// labels [B] int64. The holder disposes it.</summary>
public sealed class TrainingBatch(Tensor x, Tensor y) : IDisposable
{
    public Tensor X { get; } = x;
    public Tensor Y { get; } = y;
    public int Count => (int)Y.shape[0];
    public void Dispose() { X.Dispose(); Y.Dispose(); }
}

/// <summary>
/// Stored images to model-ready batches, the one type the trainer uses for images. Once per pipeline the images are
/// resized to the transform's resize size and cached on disk (<see cref="ResizeCache"/>); each batch then reads its
/// bytes from the cache and, on the run's device, either centre-crops (evaluation, torchvision's eval preset) or
/// applies the seeded training augmentations (random resized crop, flip where the dataset allows, rotation, colour
/// jitter) as one <c>grid_sample</c>; grey becomes three channels; the manifest's pixel steps apply (channel order, scale, mean image, mean and std). Batches are
/// built on worker threads ahead of the training step (<see cref="Prefetcher{T}"/>).
/// </summary>
public sealed class ImagePipeline : ModelZoo.Torch.Training.IBatchSource
{
    readonly ImageSource _original, _resized;
    readonly Device _device;
    readonly int[] _labels;
    readonly int _workers, _depthLimit;
    readonly long _budget;
    readonly Tensor _mean, _std;
    readonly Tensor? _meanImage;
    readonly bool _subtractMean, _divideStd;

    ImagePipeline(ImageSource original, ImageSource resized, CacheState state, string? cacheFile, int[] labels,
        ImageTransformSpec spec, AugmentationProfile profile, Device device, PipelineOptions options)
    {
        _original = original; _resized = resized; CacheState = state; CacheFile = cacheFile; _labels = labels;
        Spec = spec; Profile = profile; _device = device;
        _workers = options.ResolvedWorkers; _depthLimit = Math.Max(1, options.Prefetch); _budget = options.MemoryBudgetBytes;
        _mean = tensor(spec.Mean, [1, 3, 1, 1], device: CPU).to(device);
        _std = tensor(spec.Std, [1, 3, 1, 1], device: CPU).to(device);
        if (spec.MeanImage is { } mi) _meanImage = tensor(mi, [1, 3, spec.InputSize, spec.InputSize], device: CPU).to(device);
        _subtractMean = spec.Mean.Any(v => v != 0);
        _divideStd = spec.Std.Any(v => v != 1);
    }

    public ImageTransformSpec Spec { get; }
    public AugmentationProfile Profile { get; }
    public CacheState CacheState { get; }
    public string? CacheFile { get; }
    /// <summary>Original images read so far; after the cache is built, epochs read only the cache.</summary>
    public long OriginalImagesRead => _original.ImagesRead;
    public ImageSource Original => _original;
    public ImageSource Resized => _resized;

    public string Fingerprint =>
        $"images:{_original.Fingerprint}:{_original.Count}x{_original.Channels}x{_original.Height}x{_original.Width}:" +
        $"in{Spec.InputSize}:resize{Spec.ResizeSize}:{Spec.Interpolation}:mean{string.Join(",", Spec.Mean)}:std{string.Join(",", Spec.Std)}" +
        Spec.PixelFingerprint;

    /// <summary>Prepares the run's pipeline: resolves the transform from the manifest and the run's input size, and
    /// builds or reuses the resize cache.</summary>
    /// <param name="profile">The run's augmentations; null: the dataset's profile.</param>
    /// <param name="meanImagePath">The manifest's mean image on this machine, when it names one.</param>
    public static ImagePipeline Create(ImageSet images, DatasetInfo info, Preprocessing preprocessing, int runImageSize,
        Device device, PipelineOptions options, CancellationToken ct = default, AugmentationProfile? profile = null,
        string? meanImagePath = null)
    {
        if (images.Channels is not (1 or 3)) throw new ArgumentException($"Images must have 1 or 3 channels, not {images.Channels}.");
        var spec = ImageTransformSpec.From(preprocessing, runImageSize, meanImagePath);
        var original = ImageSource.For(images);
        try
        {
            var (h, w) = spec.ResizedShape(images.Height, images.Width);
            var dir = !string.IsNullOrWhiteSpace(options.CacheDir) ? options.CacheDir
                : images.PixelsFile is { } f ? Path.Combine(Path.GetDirectoryName(f)!, "cache")
                : Path.Combine(Path.GetTempPath(), "modelzoo-pipeline-cache");
            var name = string.IsNullOrEmpty(info.Id) ? "images" : info.Id;
            var (resized, state, file) = ResizeCache.Open(original, name, h, w, spec.Interpolation, dir, options.MemoryBudgetBytes, options.ResolvedWorkers, ct);
            return new ImagePipeline(original, resized, state, file, images.Labels, spec, profile ?? AugmentationProfile.For(info), device, options);
        }
        catch
        {
            original.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The same pipeline over a few images held in memory (prediction's uploads): the resize that
    /// <see cref="ResizeCache"/> would write to disk is done in memory by the same function, so the batches equal the
    /// evaluation batches of the same pixels, and no cache file is written per request.
    /// </summary>
    public static ImagePipeline InMemory(ImageSet images, DatasetInfo info, Preprocessing preprocessing, int runImageSize, Device device,
        string? meanImagePath = null)
    {
        if (images.Channels is not (1 or 3)) throw new ArgumentException($"Images must have 1 or 3 channels, not {images.Channels}.");
        var spec = ImageTransformSpec.From(preprocessing, runImageSize, meanImagePath);
        var original = new MemoryImageSource(images.Pixels, images.Count, images.Channels, images.Height, images.Width);
        var (h, w) = spec.ResizedShape(images.Height, images.Width);
        ImageSource resized = (h, w) == (images.Height, images.Width) ? original
            : new MemoryImageSource(ResizeCache.Resize(images.Pixels, images.Count, images.Channels, images.Height, images.Width, h, w, spec.Interpolation),
                images.Count, images.Channels, h, w);
        var options = new PipelineOptions { Workers = 1 };
        return new ImagePipeline(original, resized, CacheState.NotNeeded, null, images.Labels, spec, AugmentationProfile.For(info), device, options);
    }

    /// <summary>The training batches of one epoch in <paramref name="order"/>, augmented when <paramref name="augment"/>.</summary>
    public Prefetcher<TrainingBatch> Train(int[] order, int batchSize, int epoch, int seed, bool augment, CancellationToken ct) =>
        Stream(order, batchSize, augment ? b => new Random(Augmentation.BatchSeed(seed, epoch, b)) : null, ct);

    /// <summary>Evaluation batches (centre crop, no randomness) of <paramref name="indices"/> in order.</summary>
    public Prefetcher<TrainingBatch> Eval(int[] indices, int batchSize, CancellationToken ct) => Stream(indices, batchSize, null, ct);

    Prefetcher<TrainingBatch> Stream(int[] indices, int batchSize, Func<int, Random>? rngOf, CancellationToken ct)
    {
        int batches = (indices.Length + batchSize - 1) / batchSize;
        // Batches alive at once are the prefetch window plus the one the trainer holds: together they may take half
        // the memory budget (the rest is the cache's read buffers and the step's own tensors).
        var depth = (int)Math.Clamp(_budget / 2 / Math.Max(1, EstimateBatchBytes(batchSize)) - 1, 1, _depthLimit);
        return new Prefetcher<TrainingBatch>(batches, (b, token) =>
        {
            var idx = indices.AsSpan(b * batchSize, Math.Min(batchSize, indices.Length - b * batchSize));
            return Batch(idx, rngOf?.Invoke(b), token);
        }, _workers, depth, ct);
    }

    /// <summary>Bytes one batch occupies while it is built: the cached bytes, their float copy, the output and its
    /// intermediates (sampling grid, normalised copy).</summary>
    public long EstimateBatchBytes(int batchSize) =>
        batchSize * ((long)_resized.ImageBytes * 5 + (long)Spec.InputSize * Spec.InputSize * (2 * 4 + 3 * 4 * 3));

    /// <summary>Builds one batch now, on the calling thread; <paramref name="rng"/> null means the eval transform.</summary>
    public TrainingBatch Batch(ReadOnlySpan<int> indices, Random? rng, CancellationToken ct = default)
    {
        int n = indices.Length, c = _resized.Channels, h = _resized.Height, w = _resized.Width, s = Spec.InputSize;
        var labels = new long[n];
        using var scope = NewDisposeScope();
        // Images are read straight into a libtorch buffer: a managed array per batch (megabytes at 224 px) would sit
        // on the large-object heap until a full collection, and memory would grow far past the budget meanwhile.
        // Every factory names its device rather than trust libtorch's process-wide default (see TorchRuntime.BuildDevice).
        var raw = empty([n, c, h, w], ScalarType.Byte, device: CPU);
        var buffer = Bytes(raw);
        for (int i = 0; i < n; i++)
        {
            if ((i & 15) == 0) ct.ThrowIfCancellationRequested();
            _resized.Read(indices[i], buffer.Slice(i * _resized.ImageBytes, _resized.ImageBytes));
            labels[i] = _labels[indices[i]];
        }
        // Bytes travel to the device (a quarter of float32), and every step after runs there. A model fed 0-255 reads
        // the evaluation bytes as they are, so its input is exact (augmentations work in [0, 1] and scale back after).
        var x = raw.to(_device).to_type(ScalarType.Float32);
        float range = rng is null && Spec.PixelScale == 255f ? 255f : 1f;
        if (range == 1f) x = x.div_(255f);
        if (rng is null)
        {
            var (top, left) = ImageTransformSpec.CenterCropOffset(h, w, s);
            x = x.narrow(2, top, s).narrow(3, left, s);
        }
        else x = Augment(x, Augmentation.Draw(Profile, n, h, w, c, rng), s);
        // In place where the tensor is this batch's own: every out-of-place step would keep one more batch-sized
        // buffer alive until the scope ends, and the allocator keeps such churn resident (the streaming budget).
        if (!Spec.IsPerChannelOnly) x = PixelSteps(x, n, c, s, range);
        else if (c == 1) x = (x.expand(n, 3, s, s) - _mean).div_(_std);
        else if (rng is null) x = (x - _mean).div_(_std); // a crop view of the float copy: one new tensor, then in place
        else x = x.sub_(_mean).div_(_std);
        var y = tensor(labels, device: CPU).to(_device);
        return new TrainingBatch(x.contiguous().MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Grey to three channels, the channel order, the pixel scale, the mean image, then mean and std where they are
    /// not 0 and 1. <paramref name="x"/> holds pixels in [0, <paramref name="range"/>] and may be a view (the
    /// evaluation crop, the grey expand), so the first step that computes makes a new tensor and the rest work in place.
    /// </summary>
    Tensor PixelSteps(Tensor x, int n, int c, int s, float range)
    {
        bool own = false;
        if (c == 1) x = x.expand(n, 3, s, s);
        else if (Spec.ChannelOrder == ChannelOrder.Bgr) { x = x.flip(1); own = true; }
        var factor = Spec.PixelScale / range;
        if (factor != 1f) { x = own ? x.mul_(factor) : x * factor; own = true; }
        if (_meanImage is not null) { x = own ? x.sub_(_meanImage) : x - _meanImage; own = true; }
        if (_subtractMean) { x = own ? x.sub_(_mean) : x - _mean; own = true; }
        if (_divideStd) x = own ? x.div_(_std) : x / _std;
        return x;
    }

    Tensor Augment(Tensor x, AugmentParams[] ps, int size)
    {
        int n = ps.Length, c = (int)x.shape[1], h = (int)x.shape[2], w = (int)x.shape[3];
        var theta = tensor(ps.SelectMany(p => Augmentation.Theta(p, h, w)).ToArray(), [n, 2, 3], device: CPU).to(_device);
        var grid = nn.functional.affine_grid(theta, [n, c, size, size], align_corners: false);
        // TorchSharp 0.107's GridSampleMode has no bicubic: a bicubic model's crops sample bilinearly from its
        // bicubically resized cache (evaluation, which needs no sampling, stays bicubic throughout).
        var mode = Spec.Interpolation == ResizeInterpolation.Nearest ? GridSampleMode.Nearest : GridSampleMode.Bilinear;
        // Zeros outside the image after a rotation: torchvision's RandomRotation fills with 0 too.
        x = nn.functional.grid_sample(x, grid, mode: mode, padding_mode: GridSamplePaddingMode.Zeros, align_corners: false);
        if (Profile.ColorJitter > 0)
        {
            Tensor Factors(Func<AugmentParams, float> f) => tensor(ps.Select(f).ToArray(), [n, 1, 1, 1], device: CPU).to(_device);
            // torchvision's order and formulas: brightness scales, contrast blends with the image's mean grey,
            // saturation blends with the pixel's grey; each result is clamped to [0, 1]. x is grid_sample's fresh
            // output, so each step works in place (only the grey images are new, a third of x or less).
            x.mul_(Factors(p => p.Brightness)).clamp_(0, 1);
            var cf = Factors(p => p.Contrast);
            var meanGrey = Grey(x).mean([1, 2, 3], keepdim: true);
            x.mul_(cf).add_(meanGrey.mul_(1 - cf)).clamp_(0, 1);
            if (c == 3)
            {
                var sf = Factors(p => p.Saturation);
                var grey = Grey(x).mul_(1 - sf); // from x before it is scaled below
                x.mul_(sf).add_(grey).clamp_(0, 1);
            }
        }
        return x.clamp_(0, 1);
    }

    /// <summary>The memory of a contiguous CPU byte tensor, to read into or write from without a managed copy.</summary>
    internal static Span<byte> Bytes(Tensor t) => t.bytes;

    /// <summary>ITU-R 601 luma, torchvision's rgb_to_grayscale; grey images are their own grey.</summary>
    static Tensor Grey(Tensor x) => x.shape[1] == 1 ? x
        : x[.., 0..1] * 0.299f + x[.., 1..2] * 0.587f + x[.., 2..3] * 0.114f;

    public void Dispose()
    {
        _mean.Dispose(); _std.Dispose(); _meanImage?.Dispose();
        if (!ReferenceEquals(_resized, _original)) _resized.Dispose();
        _original.Dispose();
    }
}
