using System.Runtime.InteropServices;

namespace ModelZoo.Torch.Native;

/// <summary>
/// Sets libtorch's C++ log threshold. libtorch 2.10 on a CPU without NNPACK support (AMD EPYC here) logs
/// "Could not initialize NNPACK! Reason: Unsupported hardware." once per convolution whenever the batch is 1 (57
/// lines for one ResNet-18 forward pass), which buries a portal's log under single-image predictions. libtorch reads
/// <c>TORCH_CPP_LOG_LEVEL</c> only inside <c>c10::initLogging()</c>, which Python's torch calls at import and a bare
/// libtorch never does, so setting the variable from the shell does nothing for TorchSharp: this sets it in the
/// native environment (the CLR keeps its own copy) and calls initLogging. A level the user set is left as it is.
/// </summary>
public static class NativeLogging
{
    public const string Variable = "TORCH_CPP_LOG_LEVEL";
    public const string DefaultLevel = "ERROR";
    static readonly object Gate = new();
    static bool _done;

    /// <summary>Applies the user's level, or ERROR when none is set. Idempotent; never throws (a libtorch without the
    /// symbol simply keeps its default level).</summary>
    public static void Configure()
    {
        lock (Gate)
        {
            if (_done) return;
            _done = true;
            try
            {
                if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
                    _ = setenv(Variable, DefaultLevel, 0);
                // Also read once, when libgomp loads with libtorch just below.
                OpenMpWaitPolicy.Apply();
                // Load libtorch through TorchSharp first, so libc10 is the one TorchSharp uses.
                _ = TorchSharp.torch.get_num_threads();
                initLogging();
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        }
    }

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int setenv(string name, string value, int overwrite);

    [DllImport("c10", EntryPoint = "_ZN3c1011initLoggingEv")]
    static extern void initLogging();
}
