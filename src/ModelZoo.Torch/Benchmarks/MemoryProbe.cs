using System.Runtime.InteropServices;

namespace ModelZoo.Torch.Benchmarks;

/// <summary>
/// One look at where this process's memory is, to tell a leak from a cache from the allocator:
/// <list type="bullet">
/// <item>resident set (VmRSS) and its anonymous and file-backed parts (RssAnon, RssFile: mapped files such as the
/// native libraries count here, page-cache reads do not);</item>
/// <item>the managed heap (<see cref="GC.GetTotalMemory(bool)"/> without a collection, and the GC's committed bytes);</item>
/// <item>glibc malloc's own view (<c>mallinfo2</c>, summed over every arena): bytes in use by live allocations, bytes
/// free but kept in the arenas, and bytes in separate mmapped blocks. libtorch's CPU tensors come from malloc, so a
/// native leak grows "in use", while memory the allocator keeps after frees grows "free in arenas".</item>
/// </list>
/// </summary>
public sealed record MemorySample(long Rss, long RssAnon, long RssFile, long ManagedHeap, long ManagedCommitted,
    long MallocInUse, long MallocFree, long MallocMmapped, int Threads)
{
    public static double MiB(long bytes) => bytes < 0 ? double.NaN : bytes / 1048576.0;
}

public static class MemoryProbe
{
    /// <summary>Reads /proc/self/status, the GC and mallinfo2 (fields are -1 where unavailable).</summary>
    public static MemorySample Take()
    {
        long rss = -1, anon = -1, file = -1; int threads = -1;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kib(line);
                else if (line.StartsWith("RssAnon:", StringComparison.Ordinal)) anon = Kib(line);
                else if (line.StartsWith("RssFile:", StringComparison.Ordinal)) file = Kib(line);
                else if (line.StartsWith("Threads:", StringComparison.Ordinal)) threads = int.Parse(line[8..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        catch (IOException) { }
        var (inUse, free, mmapped) = Malloc();
        return new MemorySample(rss, anon, file, GC.GetTotalMemory(false), GC.GetGCMemoryInfo().TotalCommittedBytes, inUse, free, mmapped, threads);
    }

    static long Kib(string line) => long.Parse(line[(line.IndexOf(':') + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;

    /// <summary>glibc's totals: (in use, free in arenas, mmapped); -1 each without glibc 2.33+.</summary>
    static (long InUse, long Free, long Mmapped) Malloc()
    {
        if (!OperatingSystem.IsLinux()) return (-1, -1, -1);
        try
        {
            var m = mallinfo2();
            // uordblks counts in-use chunks of the arenas; hblkhd the separately mmapped blocks, which are in use too.
            return ((long)m.uordblks + (long)m.hblkhd, (long)m.fordblks, (long)m.hblkhd);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return (-1, -1, -1); }
    }

    [StructLayout(LayoutKind.Sequential)]
    struct Mallinfo2
    {
        public nuint arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
    }

    [DllImport("libc", EntryPoint = "mallinfo2")]
    static extern Mallinfo2 mallinfo2();
}
