using System.Runtime.InteropServices;

namespace ModelZoo.Torch.Native;

/// <summary>
/// Makes libtorch's OpenMP threads sleep, not spin, while they wait for work (<c>OMP_WAIT_POLICY=PASSIVE</c>).
/// libgomp's default lets each team thread spin for a while after every parallel region. On a machine with as many
/// threads as cores that spin took the cores from everything else in the process: with the frozen backbone's feature
/// pass just done, a linear head's 188 steps on cached features took 7-13 s instead of 0.1-0.2 s, and a whole run of
/// small steps was 20-50x slower than its bare step on a 2-core machine with other work on it (docs/benchmarks.md,
/// issue 11). Sleeping costs a futex wake per parallel region, which large convolutions do not notice.
/// libgomp reads the variable once, when it is loaded, so this must run before libtorch is (see
/// <see cref="NativeLogging.Configure"/>, the first call into libtorch of every host here); it sets the native
/// environment (the CLR keeps its own copy). A policy the user set is left as it is.
/// </summary>
public static class OpenMpWaitPolicy
{
    public const string Variable = "OMP_WAIT_POLICY";
    public const string Default = "PASSIVE";

    /// <summary>Sets the policy unless one is set; false where it was set already or cannot be (no libc).</summary>
    public static bool Apply()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable))) return false;
        try { return setenv(Variable, Default, 0) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int setenv(string name, string value, int overwrite);
}
