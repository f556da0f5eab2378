// The executor side of the trust boundary (issue #10), as gauntlet scenarios.
import { cloudCredentialHunt, cloudCrossTenant, localCredentialHunt } from "./agent-hunt";
import { cloudNetworkAndLimits } from "./cloud-network";
import { copiedCredential } from "./copied-credential";
import { deletedTaskForgotten } from "./deleted-task";
import { localStaysLocal } from "./local-stays-local";
import { killedExecutorOrphans } from "./orphans";
import { plantedGitCloud, plantedGitConfig } from "./planted-git";
import { swappedFolderCloud } from "./swapped-folder";

export {
  cloudCredentialHunt,
  cloudNetworkAndLimits,
  cloudCrossTenant,
  copiedCredential,
  deletedTaskForgotten,
  killedExecutorOrphans,
  localCredentialHunt,
  localStaysLocal,
  plantedGitCloud,
  plantedGitConfig,
  swappedFolderCloud,
};

export const executorSecurityScenarios = [
  localCredentialHunt,
  cloudCredentialHunt,
  cloudCrossTenant,
  killedExecutorOrphans,
  copiedCredential,
  plantedGitConfig,
  plantedGitCloud,
  swappedFolderCloud,
  localStaysLocal,
  cloudNetworkAndLimits,
  deletedTaskForgotten,
];
