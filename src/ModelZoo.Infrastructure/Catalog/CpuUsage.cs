namespace ModelZoo.Infrastructure.Catalog;

/// <summary>
/// How much CPU other processes took while something ran in this one, from Linux's <c>/proc/stat</c> (the whole
/// machine) and <c>/proc/self/stat</c> (this process), both counted in the same clock ticks. Null elsewhere.
/// In a container with a CPU quota <c>/proc/stat</c> describes the host, so the figure is the host's.
/// </summary>
public sealed class CpuUsage
{
    readonly (long Busy, long Total, long Self)? _start = Read();

    public static CpuUsage Start() => new();

    /// <summary>Percentage (0-100) of the machine's CPU capacity used by other processes since <see cref="Start"/>.</summary>
    public double? OtherPercent()
    {
        if (_start is not { } a || Read() is not { } b || b.Total <= a.Total) return null;
        var others = (b.Busy - a.Busy) - (b.Self - a.Self);
        return Math.Clamp(100.0 * others / (b.Total - a.Total), 0, 100);
    }

    static (long Busy, long Total, long Self)? Read()
    {
        try
        {
            if (!File.Exists("/proc/stat") || !File.Exists("/proc/self/stat")) return null;
            // "cpu  user nice system idle iowait irq softirq steal ...": idle and iowait are the idle time.
            var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Skip(1).Take(8).Select(long.Parse).ToArray();
            var total = cpu.Sum();
            var busy = total - cpu[3] - cpu[4];
            // The command name may hold spaces; fields after its closing parenthesis start at field 3 (state), so
            // utime and stime (fields 14 and 15) are at 11 and 12.
            var self = File.ReadAllText("/proc/self/stat");
            var rest = self[(self.LastIndexOf(')') + 2)..].Split(' ');
            return (busy, total, long.Parse(rest[11]) + long.Parse(rest[12]));
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
