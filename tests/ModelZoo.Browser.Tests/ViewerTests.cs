using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Playwright;
using ModelZoo.Core.Runs;
using ModelZoo.Web.Tests.Accounts;
using ModelZoo.Web.Tests.Integration;
using static Microsoft.Playwright.Assertions;

namespace ModelZoo.Browser.Tests;

/// <summary>A viewer in a real browser: no launch button anywhere it looks, and a forced launch is refused.</summary>
[Collection(BrowserCollection.Name)]
public class ViewerTests(BrowserPortal fixture)
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    [Fact]
    public async Task AViewer_SeesNoLaunchButton_AndAForcedLaunchIsRefused()
    {
        await using var w = await fixture.OpenAsync("viewer");
        var page = w.Page;
        await w.LoginAsync("viewer-user", AccountsPortal.Password);
        await w.ShotAsync("catalogue");

        // The account button shows that the user's roles are known; the launch buttons are absent for this role.
        await w.GotoAsync("/runs");
        await Expect(page.GetByTestId("nav-account")).ToHaveTextAsync("viewer-user");
        await Expect(page.GetByTestId("compare")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("new-run")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("nav-new-run")).ToHaveCountAsync(0);
        await w.ShotAsync("runs");

        // Nor on a dataset's page ("Train on it").
        await w.GotoAsync($"/datasets/{BlobsDataset.Id}");
        await Expect(page.GetByTestId("provenance")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("train-on-it")).ToHaveCountAsync(0);
        await w.ShotAsync("dataset");

        // The form itself says no, with no launch button.
        await w.GotoAsync("/runs/new");
        await Expect(page.GetByText("Your role does not allow")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("launch")).ToHaveCountAsync(0);
        await w.ShotAsync("new-run-refused");

        // A POST forced past the page, with the browser's own cookie and with the viewer's API token: 403, and no run.
        var request = new RunRequest
        {
            ModelId = "resnet18.tv_in1k", DatasetId = BlobsDataset.Id, Name = "forced",
            HyperParameters = new HyperParameters { Epochs = 1, ImageSize = 16 },
        };
        var withCookie = await page.Context.APIRequest.PostAsync("/api/runs", new APIRequestContextOptions
        {
            Data = JsonSerializer.Serialize(request, Json), Headers = new Dictionary<string, string> { ["Content-Type"] = "application/json" },
        });
        withCookie.Status.ShouldBe((int)HttpStatusCode.Forbidden);
        using var api = fixture.Portal.Client("viewer");
        (await api.PostAsJsonAsync("/api/runs", request, Json)).StatusCode.ShouldBe(HttpStatusCode.Forbidden);
        using var admin = fixture.Portal.Client("admin");
        (await admin.GetFromJsonAsync<List<RunView>>("/api/runs", Json))!.ShouldNotContain(r => r.Name == "forced");

        w.ShouldHaveNoErrors();
    }
}
