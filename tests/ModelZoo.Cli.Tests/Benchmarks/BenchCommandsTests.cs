using System.CommandLine;
using ModelZoo.Cli;
using ModelZoo.Torch.Benchmarks;

namespace ModelZoo.Cli.Tests.Benchmarks;

/// <summary>The benchmark's plumbing only: timings themselves belong to docs/benchmarks.md, never to assertions.</summary>
public class BenchCommandsTests
{
    [Fact]
    public void BenchModels_PrintsOneTableRowPerArchitectureAndThreadCount()
    {
        var output = new StringWriter();
        var exit = Program.Run(["bench", "models", "--arch", "resnet18", "--mode", "train", "--batch", "2", "--size", "32",
            "--threads", "1,2", "--rounds", "1", "--repeats", "1", "--reference", "none"], new InvocationConfiguration { Output = output, Error = output });
        exit.ShouldBe(ExitCodes.Ok, output.ToString());
        var rows = output.ToString().Split('\n').Where(l => l.StartsWith("| resnet18 |")).ToList();
        rows.Count.ShouldBe(2);
        rows[0].ShouldStartWith("| resnet18 | 1 |");
    }

    [Fact]
    public void BenchModels_TimesBertOnTokenIdsOfTheGivenLength()
    {
        var output = new StringWriter();
        var exit = Program.Run(["bench", "models", "--arch", "bert_encoder", "--batch", "1", "--size", "8",
            "--threads", "1", "--rounds", "1", "--repeats", "1", "--reference", "none"], new InvocationConfiguration { Output = output, Error = output });
        exit.ShouldBe(ExitCodes.Ok, output.ToString());
        output.ToString().Split('\n').Count(l => l.StartsWith("| bert_encoder | 1 |")).ShouldBe(1);
    }

    [Theory]
    [InlineData("bert_mlm", "train", "8", "no per-example logits")]
    [InlineData("bert", "inference", "513", "exceeds the model's 512 positions")]
    [InlineData("resnet1234", "inference", "32", "Unknown architecture")]
    public void BenchModels_RefusesWhatItCannotMeasure_WithAUsageExit(string arch, string mode, string size, string message)
    {
        var output = new StringWriter();
        var exit = Program.Run(["bench", "models", "--arch", arch, "--mode", mode, "--batch", "1", "--size", size,
            "--threads", "1", "--rounds", "1", "--repeats", "1", "--reference", "none"], new InvocationConfiguration { Output = output, Error = output });
        exit.ShouldBe(ExitCodes.BadInput, output.ToString());
        output.ToString().ShouldContain(message);
    }

    [Fact]
    public void BenchModels_AMissingReference_IsAClearError_NotACrash()
    {
        var output = new StringWriter();
        var exit = Program.Run(["bench", "models", "--arch", "resnet18", "--batch", "1", "--size", "32",
            "--threads", "1", "--rounds", "1", "--repeats", "1", "--reference", "/nonexistent/python3"], new InvocationConfiguration { Output = output, Error = output });
        exit.ShouldBe(ExitCodes.Failed, output.ToString());
        output.ToString().ShouldContain("could not start the PyTorch reference '/nonexistent/python3'");
        output.ToString().ShouldContain("apt-get install python3-torch");
        output.ToString().ShouldNotContain("   at ");
    }

    /// <summary>libtorch logs an NNPACK warning per convolution at batch 1 on CPUs NNPACK does not support (this
    /// machine's EPYC: 57 lines per ResNet-18 pass). The CLI sets libtorch's log level before running anything, so
    /// stderr holds only what the command itself says. Its own process: libtorch's logging is per process.</summary>
    [Fact]
    public void BenchModels_AtBatchOne_LeavesStderrFreeOfLibtorchWarnings()
    {
        var psi = new System.Diagnostics.ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "modelzoo"))
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        psi.Environment.Remove(ModelZoo.Torch.Native.NativeLogging.Variable);
        foreach (var a in new[] { "bench", "models", "--arch", "resnet18", "--batch", "1", "--size", "32", "--threads", "1",
                     "--rounds", "1", "--repeats", "1", "--reference", "none" })
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        p.ExitCode.ShouldBe(ExitCodes.Ok, stderr);
        stdout.Result.ShouldContain("| resnet18 | 1 |");
        stderr.ShouldBeEmpty();
    }

    [Fact]
    public void BenchLayers_BreaksTheForwardDownByModuleType()
    {
        var output = new StringWriter();
        var exit = Program.Run(["bench", "layers", "--arch", "vgg11_bn", "--batch", "1", "--size", "32", "--threads", "1",
            "--repeats", "1", "--reference", "none"], new InvocationConfiguration { Output = output, Error = output });
        exit.ShouldBe(ExitCodes.Ok, output.ToString());
        var rows = output.ToString().Split('\n').Where(l => l.StartsWith("| ") && !l.StartsWith("| module") && !l.StartsWith("| ---"))
            .Select(l => l.Split('|', StringSplitOptions.TrimEntries)).ToDictionary(c => c[1], c => c[2]);
        rows.Keys.ShouldBe(["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AdaptiveAvgPool2d", "Linear", "Dropout", "other", "total"], ignoreOrder: true);
        rows.Keys.Last().ShouldBe("total");
        double.Parse(rows["Conv2d"], System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(0);
    }

    [Theory]
    [InlineData("nchw")]
    [InlineData("auto")]
    public void BenchLayout_IsSetForTheCommand_AndPutBackAfterIt(string layout)
    {
        var before = ModelZoo.Torch.Models.InferenceLayout.ChannelsLastEnabled;
        var output = new StringWriter();
        var exit = Program.Run(["bench", "models", "--arch", "vgg11", "--batch", "1", "--size", "32", "--threads", "1",
            "--rounds", "1", "--repeats", "1", "--reference", "none", "--layout", layout], new InvocationConfiguration { Output = output, Error = output });
        exit.ShouldBe(ExitCodes.Ok, output.ToString());
        output.ToString().ShouldContain(layout == "auto" ? "layout: TorchSharp auto" : "layout: TorchSharp nchw");
        ModelZoo.Torch.Models.InferenceLayout.ChannelsLastEnabled.ShouldBe(before);
    }

    [Fact]
    public void Measure_RestoresTheProcessThreadCount()
    {
        var before = TorchSharp.torch.get_num_threads();
        ModelBenchmark.Measure(new BenchSpec("resnet18", BenchMode.Inference, 1, 32, Threads: 1, Warmup: 0, Repeats: 1)).Length.ShouldBe(1);
        TorchSharp.torch.get_num_threads().ShouldBe(before);
    }

    /// <summary>The catalogue measures an entry in its own shape: a 64-position BERT refuses 100 tokens, which the
    /// reference bert-base (512 positions) would accept.</summary>
    [Fact]
    public void Measure_BuildsTheArchitectureWithTheGivenOptions()
    {
        const string config = """{"vocab_size":500,"hidden_size":32,"num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":64,"max_position_embeddings":64,"type_vocab_size":2}""";
        var options = new ModelZoo.Torch.Models.ArchitectureOptions(2, config);
        ModelBenchmark.Measure(new BenchSpec("bert", BenchMode.Inference, 1, 64, Threads: 1, Warmup: 0, Repeats: 1, Options: options)).Length.ShouldBe(1);
        Should.Throw<ArgumentException>(() => ModelBenchmark.Measure(new BenchSpec("bert", BenchMode.Inference, 1, 100, Threads: 1, Warmup: 0, Repeats: 1, Options: options)))
            .Message.ShouldContain("64 positions");
    }

    [Fact]
    public void Median_OfEvenAndOddCounts() 
    {
        ModelBenchmark.Median([3, 1, 2]).ShouldBe(2);
        ModelBenchmark.Median([4, 1, 2, 3]).ShouldBe(2.5);
    }
}
