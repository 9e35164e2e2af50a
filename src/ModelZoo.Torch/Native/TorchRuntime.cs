using TorchSharp;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Native;

public sealed class TorchOptions
{
    public const string Section = "Torch";
    /// <summary>Intra-op threads. 0 = one per core: on the 2-core reference machine 2 threads ran a ResNet-18 step
    /// in 284-305 ms against 564-569 ms for one (docs/benchmarks.md); more threads than cores only add contention.</summary>
    public int Threads { get; set; }
    /// <summary>"auto" (CUDA when a CUDA libtorch and a GPU are present), "cpu" or "cuda".</summary>
    public string Device { get; set; } = "auto";
    /// <summary>Run CPU inference of the architectures that allow it channels-last (Models/InferenceLayout.cs):
    /// VGG inference is about a third faster. False keeps every model NCHW.</summary>
    public bool ChannelsLastInference { get; set; } = true;
    /// <summary>glibc malloc arenas (0 = glibc's default, eight per core). With the default, memory freed by runs
    /// stayed spread over many arenas: after 20 small runs the portal held 398 MiB even with the free pages handed
    /// back, against 283 MiB after the first; with 2 arenas it held 299 MiB (docs/benchmarks.md, issue 11). A
    /// <c>MALLOC_ARENA_MAX</c> set in the environment wins.</summary>
    public int MallocArenas { get; set; } = 2;
}

/// <summary>One place that initialises TorchSharp for the process: threads and the device runs use.</summary>
public static class TorchRuntime
{
    static readonly object Gate = new();
    static bool _initialised;

    /// <summary>
    /// Held while a model is built with random initial weights: libtorch has one global random generator, and a seeded
    /// run must draw its initial weights with nobody else drawing in between.
    /// </summary>
    public static readonly object ConstructionLock = new();

    /// <summary>Builds under <see cref="ConstructionLock"/> after seeding the global generator.</summary>
    public static T BuildSeeded<T>(long seed, Func<T> build)
    {
        lock (ConstructionLock)
        {
            torch.random.manual_seed(seed);
            return build();
        }
    }

    [ThreadStatic] static Device? _buildDevice;

    /// <summary>
    /// The device the zoo's modules (architectures, strategy heads) are built on by the calling thread: null, which
    /// TorchSharp reads as its default (the CPU), except inside <see cref="OnMeta{T}"/>. Every constructor passes it
    /// as <c>device:</c>. It is thread-local on purpose: libtorch's own default device (<c>torch.set_default_device</c>)
    /// is one process-wide field, and while the planner built a model on meta with it, a tensor another thread made
    /// without naming a device became a meta tensor ("Cannot copy out of meta tensor" in a prediction).
    /// </summary>
    public static Device? BuildDevice => _buildDevice;

    /// <summary>Runs <paramref name="work"/> with <see cref="BuildDevice"/> set to meta on this thread only: modules it
    /// builds have shapes but no memory and draw no random numbers. What it returns the caller owns.</summary>
    public static T OnMeta<T>(Func<T> work)
    {
        var previous = _buildDevice;
        _buildDevice = META;
        try { return work(); }
        finally { _buildDevice = previous; }
    }

    /// <summary>Builds on the meta device (see <see cref="OnMeta{T}"/>) and measures something of it.</summary>
    public static TResult OnMeta<TModel, TResult>(Func<TModel> build, Func<TModel, TResult> measure) where TModel : IDisposable
    {
        using var model = OnMeta(build);
        return measure(model);
    }

    public static int Threads { get; private set; }
    public static Device Device { get; private set; } = CPU;

    public static void Initialise(TorchOptions options)
    {
        lock (Gate)
        {
            if (_initialised) return;
            NativeLogging.Configure();
            Models.InferenceLayout.ChannelsLastEnabled = options.ChannelsLastInference;
            if (options.MallocArenas > 0) NativeMemory.LimitArenas(options.MallocArenas);
            Threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
            torch.set_num_threads(Threads);
            Device = options.Device.ToLowerInvariant() switch
            {
                "cpu" => CPU,
                "cuda" => torch.cuda.is_available() ? CUDA
                    : throw new InvalidOperationException("Torch:Device is 'cuda' but no CUDA libtorch or GPU is available."),
                "auto" => torch.cuda.is_available() ? CUDA : CPU,
                var other => throw new InvalidOperationException($"Torch:Device '{other}' is not one of auto, cpu, cuda."),
            };
            _initialised = true;
        }
    }

    /// <summary>Human-readable device, e.g. "CPU (2 threads)" or "CUDA:0".</summary>
    public static string DeviceDescription =>
        Device.type == DeviceType.CUDA ? $"CUDA:{Math.Max(0, Device.index)}" : $"CPU ({Threads} threads)";

    public static string SoftwareVersions =>
        $"TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)}, libtorch {torch.__version__}, .NET {Environment.Version}";
}
