using ModelZoo.Core.Runs;
using ModelZoo.Infrastructure.Runs;
using ModelZoo.Torch.Models;
using ModelZoo.Torch.Native;
using ModelZoo.Torch.Weights;
using ModelZoo.Web.Tests.Components;
using static TorchSharp.torch;

namespace ModelZoo.Web.Tests.Runs;

/// <summary>A run on the host's tiny dataset with a weights file as the trainer writes it (the whole seeded ResNet-18,
/// its architecture and classes "a" and "b" in the metadata), for panels that read a succeeded run's model. The caller
/// records the run's ending and result.</summary>
static class TrainedRunFiles
{
    public static async Task<(Guid Id, string Path, string File)> ResNetRunAsync(ComponentHost host)
    {
        var id = (await host.Get<RunService>().LaunchAsync(new RunRequest { ModelId = "resnet18.tv_in1k", DatasetId = "tiny",
            HyperParameters = new HyperParameters { ImageSize = 32 } })).RunId!.Value;
        var file = RunOutputs.WeightsFileNameOf(id);
        var path = System.IO.Path.Combine(Directory.CreateDirectory(host.Get<RunOutputs>().DirOf(id)).FullName, file);
        // Seeded under the runtime's construction lock, so the weights are the same whichever test class runs beside.
        using (var model = TorchRuntime.BuildSeeded(1, () => ArchitectureRegistry.Default.Create("resnet18", new ArchitectureOptions(2))))
            SafeTensors.Save(path, model.state_dict(), ScalarType.Float32,
                new Dictionary<string, string> { ["modelzoo.architecture"] = "resnet18", ["modelzoo.classes"] = """["a","b"]""" });
        return (id, path, file);
    }
}
