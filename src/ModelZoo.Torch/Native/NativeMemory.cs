using System.Runtime.InteropServices;

namespace ModelZoo.Torch.Native;

/// <summary>
/// Hands memory that glibc's malloc keeps after libtorch frees it back to the system. libtorch's CPU tensors come
/// from malloc; glibc keeps freed blocks in the allocating thread's arena for reuse, so a burst of large buffers on
/// several threads (the resize cache's chunks) stays resident after it ends and counts against a memory budget that
/// the next phase (streaming batches) needs. <c>malloc_trim(0)</c> releases free pages of every arena.
/// </summary>
public static class NativeMemory
{
    /// <summary>Returns free malloc memory to the system; false where there is no glibc (the call is then skipped).</summary>
    public static bool Trim()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try { return malloc_trim(0) != 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; } // musl has no malloc_trim
    }

    /// <summary>Caps glibc's malloc arenas (<c>mallopt(M_ARENA_MAX)</c>) unless <c>MALLOC_ARENA_MAX</c> is set. Arenas
    /// are made as threads first contend, so this takes effect for the threads the runs start after it.</summary>
    public static bool LimitArenas(int arenas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(arenas, 1);
        if (!OperatingSystem.IsLinux() || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX"))) return false;
        try { return mallopt(MArenaMax, arenas) == 1; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    const int MArenaMax = -8; // glibc's malloc.h

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int mallopt(int param, int value);

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int malloc_trim(nuint pad);
}
