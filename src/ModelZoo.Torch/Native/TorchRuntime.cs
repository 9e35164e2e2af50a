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
    /// Held while a model is built. libtorch has one global random generator and one default device: a seeded run
    /// must draw its initial weights with nobody else drawing in between, and a model built on the meta device
    /// (to count parameters) must not turn another thread's model into meta tensors.
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

    /// <summary>Builds on the meta device (shapes only, no memory, no random draws) and measures something of it.</summary>
    public static TResult OnMeta<TModel, TResult>(Func<TModel> build, Func<TModel, TResult> measure) where TModel : IDisposable
    {
        lock (ConstructionLock)
        {
            torch.set_default_device(META);
            try
            {
                using var model = build();
                return measure(model);
            }
            finally { torch.set_default_device(CPU); }
        }
    }

    /// <summary>Runs <paramref name="work"/> with the meta device as libtorch's default (under
    /// <see cref="ConstructionLock"/>) and hands back what it made, which the caller owns. The default is the CPU again
    /// on return, so the caller's further work on meta modules (reading shapes, setting flags) does not hold the window
    /// in which another thread's unnamed tensors would land on meta.</summary>
    public static T WithMetaDefault<T>(Func<T> work)
    {
        lock (ConstructionLock)
        {
            torch.set_default_device(META);
            try { return work(); }
            finally { torch.set_default_device(CPU); }
        }
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
