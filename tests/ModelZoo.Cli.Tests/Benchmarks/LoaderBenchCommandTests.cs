using System.CommandLine;
using ModelZoo.Cli;
using ModelZoo.Core.Datasets;
using ModelZoo.Infrastructure.Datasets;
using ModelZoo.Infrastructure.Storage;

namespace ModelZoo.Cli.Tests.Benchmarks;

/// <summary>The loader benchmark's plumbing: timings belong to docs/benchmarks.md; the memory budget is a contract.</summary>
public class LoaderBenchCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-bench-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } }

    string DataDirWithDigits()
    {
        var dataDir = Path.Combine(_dir, "data");
        var paths = new ZooPaths(new StorageOptions { DataDir = dataDir }, AppContext.BaseDirectory);
        var labels = Enumerable.Range(0, 200).Select(i => i % 10).ToArray();
        var pixels = new byte[200 * 784];
        new Random(1).NextBytes(pixels);
        var info = new DatasetInfo { Id = "digits", Title = "Digits", ClassNames = Enumerable.Range(0, 10).Select(d => $"{d}").ToList(), Width = 28, Height = 28, Channels = 1 };
        new DatasetStore(paths).Write(info, new ImageSet { Width = 28, Height = 28, Channels = 1, Pixels = pixels, Labels = labels, ClassNames = info.ClassNames },
            StratifiedSplitter.Split(labels, 1));
        return dataDir;
    }

    static (int Exit, string Output) Run(params string[] args)
    {
        var output = new StringWriter();
        var exit = Program.Run(["bench", "loader", .. args], new InvocationConfiguration { Output = output, Error = output });
        return (exit, output.ToString());
    }

    [Fact]
    public void Throughput_PrintsARowPerArchitectureAndStep_WithTheRatioAndTheWaitShare()
    {
        var (exit, output) = Run("--data-dir", DataDirWithDigits(), "--dataset", "digits", "--arch", "resnet18", "--images", "64",
            "--batch", "16", "--steps", "1", "--size", "32");
        exit.ShouldBe(ExitCodes.Ok, output);
        var rows = output.Split('\n').Where(l => l.StartsWith("| resnet18 |")).ToList();
        rows.Count.ShouldBe(4, output);
        rows[0].ShouldStartWith("| resnet18 | full-fine-tune | 32 (resize 37, bilinear) |");
        rows[0].ShouldEndWith("x |");
        rows[2].ShouldMatch(@"^\| resnet18 \| full-fine-tune \| \d+ \| \d+\.\d\d % \|$");
        Directory.GetDirectories(Path.GetTempPath(), "mz-bench-cache-*").Where(d => Directory.GetCreationTimeUtc(d) > DateTime.UtcNow.AddMinutes(-1))
            .ShouldBeEmpty("the benchmark's cache is removed");
    }

    /// <summary>The streaming mode's plumbing: it reports its row and its exit code is the verdict of the numbers it
    /// printed (0 when the peak growth stays within the budget, 1 otherwise). Whether the budget holds is the
    /// benchmark's finding, recorded in docs/benchmarks.md, not a unit test's: it depends on the allocator and on what
    /// else the machine runs. Run as its own process with glibc's arenas capped as the Dockerfile does (the variable
    /// only works from process start).</summary>
    [Fact]
    public void Stream_ReportsItsRow_AndExitsWithTheBudgetVerdict()
    {
        var psi = new System.Diagnostics.ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "modelzoo"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
            Environment = { ["MALLOC_ARENA_MAX"] = "2" },
        };
        foreach (var a in new[] { "bench", "loader", "--mode", "stream", "--dataset-mb", "24", "--budget-mb", "16", "--batch", "16", "--size", "32" })
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        var row = output.Split('\n').SingleOrDefault(l => l.StartsWith("| 24 | 16 |")).ShouldNotBeNull(output);
        var ratio = double.Parse(row.Split('|', StringSplitOptions.TrimEntries)[7], System.Globalization.CultureInfo.InvariantCulture);
        p.ExitCode.ShouldBe(ratio <= 1.0 ? ExitCodes.Ok : ExitCodes.Failed, output);
    }

    [Fact]
    public void UnknownDataset_IsBadInput_NamingIt()
    {
        var (exit, output) = Run("--data-dir", Path.Combine(_dir, "empty"), "--dataset", "nope");
        exit.ShouldBe(ExitCodes.BadInput);
        output.ShouldContain("'nope'");
    }
}
