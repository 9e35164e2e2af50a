using System.CommandLine;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;

namespace ModelZoo.Cli.Weights;

/// <summary>
/// <c>modelzoo weights import-onnx &lt;file&gt; --arch resnet18_cntk --out backbone.safetensors</c>: maps the ONNX
/// file's initialisers onto the architecture's state_dict keys by walking its graph (<see cref="OnnxImporter"/>),
/// prints where every tensor came from and what the file lacks, and writes the backbone as safetensors (Float32,
/// reference keys). The head is left out: these files hold none, and a freshly drawn classifier saved beside real
/// weights would pass for a trained one. Loading the result into the architecture re-initialises the head, as for
/// any backbone checkpoint. Exit 0 on success, 2 when the file is refused.
/// </summary>
public static class ImportOnnxCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "ONNX model file, e.g. ResNet18.onnx of Microsoft.ML.DnnImageFeaturizer.ResNet18." }
            .AcceptExistingOnly();
        var arch = new Option<string>("--arch") { Description = "Architecture the graph is, e.g. resnet18_cntk.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "safetensors file to write the backbone to.", Required = true };
        var command = new Command("import-onnx", "Map an ONNX file's weights onto an architecture's keys by its graph and write them as safetensors.")
        {
            file, arch, output,
        };
        command.SetAction(r => Run(r.GetRequiredValue(file).FullName, r.GetRequiredValue(arch), r.GetRequiredValue(output).FullName,
            r.InvocationConfiguration.Output, r.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(string path, string architecture, string outPath, TextWriter output, TextWriter error)
    {
        try
        {
            using var model = ArchitectureRegistry.Default.Create(architecture);
            var result = OnnxImporter.Import(path, model);
            var sourceSha256 = Sha256.OfFile(path);
            output.WriteLine($"{architecture} <- {Path.GetFileName(path)} (sha256 {sourceSha256})");
            foreach (var m in result.Report.Messages) output.WriteLine(m);
            int width = result.Mapped.Count == 0 ? 0 : result.Mapped.Max(m => m.Key.Length);
            foreach (var m in result.Mapped) output.WriteLine($"  {m.Key.PadRight(width)}  <- {m.Initializer} ({m.Node})");

            bool InHead(string key) => key.StartsWith(model.ClassifierPrefix + ".", StringComparison.Ordinal);
            var backbone = model.state_dict().Where(kv => !InHead(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            SafeTensors.Save(outPath, backbone, metadata: new Dictionary<string, string>
            {
                ["modelzoo.architecture"] = architecture,
                ["modelzoo.source"] = Path.GetFileName(path),
                ["modelzoo.source_sha256"] = sourceSha256,
                ["modelzoo.note"] = $"imported from ONNX by walking its graph; no classifier ({model.ClassifierPrefix}); " +
                                    "num_batches_tracked is not in ONNX and is 0",
            });
            output.WriteLine($"wrote {outPath}: {backbone.Count} tensors, {model.ClassifierPrefix} left out (sha256 {Sha256.OfFile(outPath)})");
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is WeightsFormatException or WeightsImportException or FileNotFoundException or KeyNotFoundException)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
    }
}
