using System.CommandLine;
using ModelZoo.Torch.Weights;
using ModelZoo.Torch.Weights.Onnx;

namespace ModelZoo.Cli.Weights;

/// <summary>
/// <c>modelzoo weights onnx-tensor &lt;file&gt; --name MeanImage --out mean_image.safetensors</c>: writes one
/// initialiser of an ONNX file, as stored (Float32, its own name and shape), to safetensors, with the source file and
/// its sha256 in the metadata. It reads graphs the importer would refuse, such as ML.NET's preprocessing graph, whose
/// <c>MeanImage</c> a catalogue entry subtracts (<c>preprocessing.mean_image</c>). Exit 0, or 2 on a bad file or name.
/// </summary>
public static class OnnxTensorCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "ONNX file, e.g. ResNetPreprocess.onnx of Microsoft.ML.DnnImageFeaturizer.ResNet18." }
            .AcceptExistingOnly();
        var name = new Option<string>("--name") { Description = "Initialiser to write, e.g. MeanImage.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "safetensors file to write.", Required = true };
        var command = new Command("onnx-tensor", "Write one initialiser of an ONNX file (any graph) as safetensors.") { file, name, output };
        command.SetAction(r => Run(r.GetRequiredValue(file).FullName, r.GetRequiredValue(name), r.GetRequiredValue(output).FullName,
            r.InvocationConfiguration.Output, r.InvocationConfiguration.Error));
        return command;
    }

    public static int Run(string path, string name, string outPath, TextWriter output, TextWriter error)
    {
        try
        {
            using var t = OnnxModel.ReadInitializer(path, name);
            var sha = Sha256.OfFile(path);
            SafeTensors.Save(outPath, new Dictionary<string, TorchSharp.torch.Tensor> { [name] = t }, metadata: new Dictionary<string, string>
            {
                ["modelzoo.source"] = Path.GetFileName(path),
                ["modelzoo.source_sha256"] = sha,
                ["modelzoo.initializer"] = name,
            });
            output.WriteLine($"{name} [{string.Join(", ", t.shape)}] <- {Path.GetFileName(path)} (sha256 {sha})");
            output.WriteLine($"wrote {outPath} (sha256 {Sha256.OfFile(outPath)})");
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is WeightsFormatException or FileNotFoundException or KeyNotFoundException)
        {
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
    }
}
